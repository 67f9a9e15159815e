package tui

import (
	"sync"

	"github.com/charmbracelet/colorprofile"
)

// lineCacheSize bounds the renderings a LineCache keeps: the last
// thousand or so messages at a few common widths, or fewer at many. A
// miss costs only the rendering the session would have done alone.
const lineCacheSize = 4096

// LineCache shares wrapped, styled log lines between the sessions of a
// server. A room delivers every message to every session, and most show it
// alike: at the same log width, in the same colours, neither written by
// them nor naming them. The first of them wraps and styles the message; the
// others copy its lines. Safe for concurrent use.
type LineCache struct {
	mu    sync.Mutex
	lines map[lineKey][]line
	keys  [lineCacheSize]lineKey // a ring: the oldest rendering goes first
	next  int
}

// lineKey names one rendering of a room message.
type lineKey struct {
	id      int64 // room messages only: the room never reuses an id
	width   int
	profile colorprofile.Profile
	// removed: the message was removed by a moderator after it was
	// drawn. Its rendering then differs, though the id does not: the old
	// text must never be served for it again.
	removed bool
}

// NewLineCache returns an empty cache, to share between sessions.
func NewLineCache() *LineCache {
	return &LineCache{lines: make(map[lineKey][]line, lineCacheSize)}
}

// get returns the lines stored for k. The caller must not change them.
func (c *LineCache) get(k lineKey) ([]line, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lines, ok := c.lines[k]
	return lines, ok
}

// put stores the lines for k, forgetting the oldest rendering when full.
// The caller must not change them afterwards.
func (c *LineCache) put(k lineKey, lines []line) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.lines[k]; ok {
		return // another session rendered it meanwhile
	}
	if old := c.keys[c.next]; old != (lineKey{}) {
		delete(c.lines, old)
	}
	c.keys[c.next] = k
	c.next = (c.next + 1) % lineCacheSize
	c.lines[k] = lines
}
