package postgres

import (
	"testing"

	"messaging/store"
	"messaging/store/postgres/pgtest"
	"messaging/store/storetest"
)

// BenchmarkAppend: storetest.BenchmarkAppend, each store in a fresh schema.
func BenchmarkAppend(b *testing.B) {
	storetest.BenchmarkAppend(b, func(b *testing.B) store.Store {
		s := open(b, pgtest.FreshURL(b))
		b.Cleanup(func() { s.Close() })
		return s
	})
}
