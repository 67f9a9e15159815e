package app

import (
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func TestRepeatedLinesFromOneAddressAreSummarised(t *testing.T) {
	logs := &syncBuffer{}
	r := newRepeatLog(slog.New(slog.NewTextHandler(logs, nil)), repeatWindow/100, 3)
	for i := range 1000 {
		r.Info("192.0.2.1", "auth failures", "auth failed", "try", i)
	}
	r.Info("192.0.2.2", "auth failures", "auth failed", "try", 0)
	if n := strings.Count(logs.String(), "msg=\"auth failed\""); n != 4 {
		t.Errorf("%d lines written in full, want 3 from the flooding address and 1 from the other", n)
	}
	waitUntil(t, "the summary", func() bool {
		return strings.Contains(logs.String(), "… 997 more auth failures from 192.0.2.1 in the last 100ms")
	})
	if strings.Contains(logs.String(), "more auth failures from 192.0.2.2") {
		t.Error("an address under the limit was summarised")
	}
	// A new window starts afresh.
	r.Info("192.0.2.1", "auth failures", "auth failed", "try", "again")
	if !strings.Contains(logs.String(), "try=again") {
		t.Error("the next window's first line was not written")
	}
}

func TestAFloodOfFailedLoginsWritesAFewLines(t *testing.T) {
	ts := startServer(t, testConfig(t))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 25 {
				if c, err := ts.dial(fmt.Sprintf("nobody%d", i), gossh.Password(fmt.Sprint("guess", j))); err == nil {
					c.Close()
				}
			}
		}()
	}
	wg.Wait()
	// At most repeatFirst lines in full per window (a slow run spans
	// several), and summaries count the rest: 200 in all.
	full := strings.Count(ts.logs.String(), "msg=\"auth failed\"")
	if full < repeatFirst || full > 3*repeatFirst {
		t.Errorf("200 failed logins wrote %d lines in full, want %d a window", full, repeatFirst)
	}
	if testing.Short() {
		return
	}
	summarised := regexp.MustCompile(`… (\d+) more auth failures from 127\.0\.0\.1 in the last 10s`)
	waitUntil(t, "the summaries to count every failure", func() bool {
		logs := ts.logs.String()
		total := strings.Count(logs, "msg=\"auth failed\"")
		for _, m := range summarised.FindAllStringSubmatch(logs, -1) {
			n, _ := strconv.Atoi(m[1])
			total += n
		}
		return total == 200
	})
}
