package tui

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestPasteLimiter(t *testing.T) {
	start, end := string(pasteStart), string(pasteEnd)
	tests := []struct {
		name, in, want string
	}{
		{"plain keys pass", "hello\r\x1b[A", "hello\r\x1b[A"},
		{"a short paste passes", "a" + start + "12345" + end + "b", "a" + start + "12345" + end + "b"},
		{"a long paste is cut, its end kept", start + "1234567890" + end + "x", start + "12345678" + end + "x"},
		{"a paste at the limit passes", start + "12345678" + end, start + "12345678" + end},
		{"an endless paste stays bounded", start + strings.Repeat("z", 10000), start + "zzzzzzzz"},
		{"two pastes", start + "1234567890" + end + start + "ab" + end, start + "12345678" + end + start + "ab" + end},
		{"an escape inside a paste", start + "a\x1b[20b" + end, start + "a\x1b[20b" + end},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, reader := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader, // markers split across reads
			} {
				got, err := io.ReadAll(newPasteLimiter(reader(strings.NewReader(tt.in)), 8))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, []byte(tt.want)) {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func FuzzPasteLimiter(f *testing.F) {
	f.Add("x\x1b[200~hello\x1b[201~y", 4)
	f.Add("\x1b[200~\x1b[200~\x1b[201~\x1b[201~", 1)
	f.Fuzz(func(t *testing.T, in string, limit int) {
		limit = max(limit%64, 0)
		got, err := io.ReadAll(newPasteLimiter(iotest.HalfReader(strings.NewReader(in)), limit))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > len(in)+len(pasteEnd) {
			t.Fatalf("output %d bytes from %d in", len(got), len(in))
		}
		if !strings.Contains(in, string(pasteStart)) && string(got) != in {
			t.Fatalf("input without a paste changed: %q -> %q", in, got)
		}
	})
}
