package app

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	gossh "golang.org/x/crypto/ssh"

	"messaging/store"
)

// dialVia opens an SSH connection to ts as user by password, first sending
// a PROXY v2 header naming client as the connection's source (none if
// client is "").
func (ts *testServer) dialVia(client, user, password string) (*gossh.Client, error) {
	conn, err := net.DialTimeout("tcp", ts.addr, waitLimit)
	if err != nil {
		return nil, err
	}
	if client != "" {
		src := net.TCPAddrFromAddrPort(netip.MustParseAddrPort(client))
		header := proxyproto.HeaderProxyFromAddrs(2, src, conn.LocalAddr())
		if _, err := header.WriteTo(conn); err != nil {
			conn.Close()
			return nil, err
		}
	}
	conn.SetDeadline(time.Now().Add(waitLimit))
	c, chans, reqs, err := gossh.NewClientConn(conn, ts.addr, clientConfig(user, gossh.Password(password)))
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return gossh.NewClient(c, chans, reqs), nil
}

// Behind a load balancer that sends PROXY headers (PROXY_PROTOCOL), a
// connection's address is the client's the header names: per-address
// limits count clients, not the balancer. The balancer's connections must
// send one; anyone else's header is not believed.
func TestProxyProtocolNamesTheClient(t *testing.T) {
	for _, trusted := range []string{"127.0.0.0/8", "::1/128,127.0.0.1"} {
		t.Run(trusted, func(t *testing.T) {
			cfg := testConfig(t)
			from, err := parseProxyFrom(trusted)
			if err != nil {
				t.Fatal(err)
			}
			cfg.ProxyFrom, cfg.MaxSessionsPerIP = from, 1
			ts := startServer(t, cfg)
			hash, err := store.HashPassword(scriptPassword)
			if err != nil {
				t.Fatal(err)
			}
			if err := ts.srv.store.CreateAccount(t.Context(), store.Account{Name: "alice", PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}

			// One chat per address: two clients behind the balancer each
			// get theirs; a second from the first client does not.
			chat := func(client string) *terminal {
				c, err := ts.dialVia(client, "alice", scriptPassword)
				if err != nil {
					t.Fatalf("client %s: %v", client, err)
				}
				return openTerminal(t, c, 100, 30)
			}
			chat("203.0.113.7:5555").waitText("signed in as alice")
			chat("198.51.100.9:6666").waitText("signed in as alice")
			chat("203.0.113.7:7777").waitText("Too many chat sessions are open")

			// A wrong password is logged with the client's address.
			if c, err := ts.dialVia("192.0.2.44:4444", "alice", "wrong-password"); err == nil {
				c.Close()
				t.Fatal("a wrong password was let in")
			}
			if logs := ts.logs.String(); !strings.Contains(logs, "192.0.2.44:4444") {
				t.Errorf("the failure is not logged with the client's address:\n%s", logs)
			}

			// The balancer's address without a header: refused, and the
			// log says why.
			if c, err := ts.dialVia("", "alice", scriptPassword); err == nil {
				c.Close()
				t.Error("a connection from the load balancer without a PROXY header was let in")
			}
			waitUntil(t, "the refusal logged", func() bool {
				return strings.Contains(ts.logs.String(), "without a PROXY header (is the load balancer sending one?)")
			})
		})
	}
}

// A PROXY header from an address not in PROXY_PROTOCOL is not believed:
// the connection fails, and plain SSH from there works as ever.
func TestProxyHeaderFromOthersIsRefused(t *testing.T) {
	cfg := testConfig(t)
	cfg.ProxyFrom = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	ts := startServer(t, cfg)
	ts.accounts(t, "alice") // plain SSH from loopback, not a balancer
	if c, err := ts.dialVia("203.0.113.7:5555", "alice", scriptPassword); err == nil {
		c.Close()
		t.Error("a PROXY header from an untrusted address was taken")
	}
	c, err := ts.dialVia("", "alice", scriptPassword)
	if err != nil {
		t.Fatalf("plain SSH from an address that is not a balancer: %v", err)
	}
	c.Close()
}
