package app

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkAdmission is what a connection from a new address costs the
// limits when many addresses are already tracked: admission, a failed
// login (a new entry in a full table) and release. It must not grow with
// the number of addresses seen.
func BenchmarkAdmission(b *testing.B) {
	for _, tracked := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("tracked=%d", tracked), func(b *testing.B) {
			l := newLimits(Config{MaxUnauth: 64, MaxUnauthPerIP: 8, PenaltyFailures: 5, AccountFailures: 3}, time.Now)
			next := netip.MustParseAddr("2001:db8::")
			newAddress := func() string { next = next.Next(); return next.String() }
			for range tracked {
				l.failed(newAddress(), "")
			}
			b.ResetTimer()
			for b.Loop() {
				ip := newAddress()
				release, ok := l.admitConnection(ip)
				if !ok {
					b.Fatal("refused")
				}
				l.failed(ip, "")
				release()
			}
		})
	}
}
