package tui

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	uv "github.com/charmbracelet/ultraviolet"
)

// waitLimit bounds every wait in these tests.
const waitLimit = 15 * time.Second

// chunkReader returns what is sent on its channel, one send per Read, as an
// SSH channel returns what arrived in one packet; closing the channel ends
// it.
type chunkReader chan string

func (c chunkReader) Read(p []byte) (int, error) {
	chunk, ok := <-c
	if !ok {
		return 0, io.EOF
	}
	if len(chunk) > len(p) {
		panic("chunk longer than the read")
	}
	return copy(p, chunk), nil
}

// decoding runs a key reader over reads and returns its events as they
// come; the channel closes when the input ends.
func decoding(t *testing.T, r *uv.TerminalReader) <-chan uv.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events, out := make(chan uv.Event), make(chan uv.Event, 100)
	go func() { _ = r.StreamEvents(ctx, events); close(events) }()
	go func() {
		defer close(out)
		for ev := range events {
			out <- ev
		}
	}()
	t.Cleanup(cancel)
	return out
}

// nextKey waits for the next event and returns it as a key's name.
func nextKey(t *testing.T, events <-chan uv.Event) string {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the input ended")
		}
		return eventName(ev)
	case <-time.After(waitLimit):
		t.Fatal("no event")
		return ""
	}
}

func eventName(ev uv.Event) string {
	switch ev := ev.(type) {
	case uv.KeyPressEvent:
		return ev.String()
	case uv.PasteStartEvent:
		return "paste start"
	case uv.PasteEvent:
		return fmt.Sprintf("paste %q", ev.Content)
	case uv.PasteEndEvent:
		return "paste end"
	case uv.MouseWheelEvent:
		return "wheel " + ev.String()
	}
	return fmt.Sprintf("%T %v", ev, ev)
}

// Escape sequences that arrive in one read decode as they did without
// loneEscReader, and so do reads that only looked like ending in Esc:
// inside a paste, or a read that filled the buffer.
func TestEscapeSequencesInOneReadDecodeAsBefore(t *testing.T) {
	full := strings.Repeat("a", 4096-len(escKey)) + "\x1b" // fills the reader's read
	tests := []struct {
		name  string
		reads []string
		want  []string
	}{
		{"up", []string{"\x1b[A"}, []string{"up"}},
		{"page up", []string{"\x1b[5~"}, []string{"pgup"}},
		{"alt+b", []string{"\x1bb"}, []string{"alt+b"}},
		{"alt+b, then esc", []string{"\x1bb", "\x1b"}, []string{"alt+b", "esc"}},
		{"ctrl+home", []string{"\x1b[1;5H"}, []string{"ctrl+home"}},
		{"a paste", []string{"\x1b[200~hi there\x1b[201~"}, []string{"paste start", `paste "hi there"`, "paste end"}},
		{"an esc after a paste", []string{"\x1b[200~hi\x1b[201~\x1b"}, []string{"paste start", `paste "hi"`, "paste end", "esc"}},
		{"mouse wheel", []string{"\x1b[<64;10;5M"}, []string{"wheel wheelup"}},
		{"alt+esc", []string{"\x1b\x1b"}, []string{"alt+esc"}},
		{"an esc ending a read inside a paste", []string{"\x1b[200~a\x1b", "\x1b[201~"}, nil},
		{"a full read ending in esc", []string{full, "[A"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decode := func(r *uv.TerminalReader, reads chunkReader) []string {
				events := decoding(t, r)
				for _, chunk := range tt.reads {
					reads <- chunk
				}
				close(reads)
				var got []string
				for ev := range events {
					got = append(got, eventName(ev))
				}
				return got
			}
			plainReads, reads := make(chunkReader), make(chunkReader)
			plain := decode(uv.NewTerminalReader(plainReads, "xterm-256color"), plainReads)
			got := decode(newKeyReader(reads, "xterm-256color"), reads)
			if !reflect.DeepEqual(got, plain) {
				t.Errorf("events %q, without loneEscReader %q", got, plain)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoneEscReaderFollowsPastes(t *testing.T) {
	for _, tt := range []struct {
		name  string
		reads []string
		want  string
	}{
		{"an esc ending a read", []string{"ab\x1b"}, "ab" + escKey},
		{"an esc inside a paste", []string{"\x1b[200~a\x1b", "b\x1b[201~"}, "\x1b[200~a\x1bb\x1b[201~"},
		{"an esc after a paste", []string{"\x1b[200~a\x1b[201~\x1b"}, "\x1b[200~a\x1b[201~" + escKey},
		{"markers split across reads", []string{"\x1b[20", "0~a\x1b", "\x1b[2", "01~", "\x1b"}, "\x1b[200~a\x1b\x1b[201~" + escKey},
		{"an esc between two", []string{"\x1b", "\x1b"}, escKey + escKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reads := make(chunkReader, len(tt.reads))
			for _, r := range tt.reads {
				reads <- r
			}
			close(reads)
			got, err := io.ReadAll(&loneEscReader{r: reads})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzLoneEscReader: whatever the input and however it is cut into reads,
// loneEscReader only writes some ESCs out as escKey.
func FuzzLoneEscReader(f *testing.F) {
	f.Add("draft\x1b")
	f.Add("\x1b[200~a\x1b\x1b[201~\x1b")
	f.Add("\x1bb\x1b[A\x1b")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := io.ReadAll(&loneEscReader{r: iotest.HalfReader(strings.NewReader(in))})
		if err != nil {
			t.Fatal(err)
		}
		if strings.ReplaceAll(string(got), escKey, "\x1b") != strings.ReplaceAll(in, escKey, "\x1b") {
			t.Fatalf("%q became %q", in, got)
		}
	})
}
