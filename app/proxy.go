package app

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/pires/go-proxyproto"
)

// proxyHeaderTimeout bounds how long a connection from a trusted load
// balancer may take to send its PROXY header (it sends it at once).
const proxyHeaderTimeout = 5 * time.Second

// parseProxyFrom reads PROXY_PROTOCOL: the load balancers, by address or
// CIDR range separated by commas, whose connections start with a PROXY
// protocol header (v1 or v2) naming the client. Every per-address limit
// then applies to the client, not to the load balancer.
func parseProxyFrom(raw string) ([]netip.Prefix, error) {
	var from []netip.Prefix
	for _, field := range strings.Split(raw, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(field)
		if err != nil {
			addr, addrErr := netip.ParseAddr(field)
			if addrErr != nil {
				return nil, fmt.Errorf("PROXY_PROTOCOL names %q, which is not an IP address or a CIDR range like 10.0.0.0/8", field)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		from = append(from, prefix.Masked())
	}
	return from, nil
}

// proxyListener wraps ln so that a connection from one of from must open
// with a PROXY header, and its RemoteAddr is the client the header names;
// any other connection is taken as it is (a header from it is not trusted:
// it fails the SSH handshake).
func proxyListener(ln net.Listener, from []netip.Prefix) net.Listener {
	ranges := make([]string, len(from))
	for i, p := range from {
		ranges[i] = p.String()
	}
	return &proxyproto.Listener{
		Listener:          ln,
		ReadHeaderTimeout: proxyHeaderTimeout,
		// from was checked by parseProxyFrom: the ranges parse.
		ConnPolicy: proxyproto.MustPolicyFromRanges(ranges, proxyproto.REQUIRE, proxyproto.SKIP),
	}
}

// noProxyHeader reports whether conn comes from a trusted load balancer
// without the PROXY header it must send (waiting for it, up to
// proxyHeaderTimeout).
func noProxyHeader(conn net.Conn) bool {
	pc, ok := conn.(*proxyproto.Conn)
	return ok && pc.ProxyHeader() == nil
}
