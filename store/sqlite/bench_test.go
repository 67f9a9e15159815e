package sqlite

import (
	"path/filepath"
	"testing"

	"messaging/store"
	"messaging/store/storetest"
)

// BenchmarkAppend: storetest.BenchmarkAppend, each store a new file.
func BenchmarkAppend(b *testing.B) {
	storetest.BenchmarkAppend(b, func(b *testing.B) store.Store {
		s, err := Open(b.Context(), filepath.Join(b.TempDir(), "messaging.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
