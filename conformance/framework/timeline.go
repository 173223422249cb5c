package framework

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Timeline records what a spec did and observed, with offsets from its
// start. Safe for concurrent use (watchers record from their goroutines).
type Timeline struct {
	mu      sync.Mutex
	start   time.Time
	entries []timelineEntry
	last    map[string]string
}

type timelineEntry struct {
	at   time.Duration
	text string
}

// NewTimeline starts a timeline now.
func NewTimeline(start time.Time) *Timeline {
	return &Timeline{start: start, last: map[string]string{}}
}

// Add records a line.
func (t *Timeline) Add(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries = append(t.entries, timelineEntry{at: time.Since(t.start), text: fmt.Sprintf(format, args...)})
}

// Observe records what was seen about subject, only when it differs from the
// last observation of the same subject: polling loops stay readable.
func (t *Timeline) Observe(subject, state string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last[subject] == state {
		return
	}
	t.last[subject] = state
	t.entries = append(t.entries, timelineEntry{at: time.Since(t.start), text: subject + ": " + state})
}

// Len is the number of entries.
func (t *Timeline) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// String renders the timeline, one "+1.234s text" line per entry; past
// maxLines it keeps the first and the last entries.
func (t *Timeline) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	const maxLines = 400
	var b strings.Builder
	write := func(e timelineEntry) { fmt.Fprintf(&b, "%+9.3fs  %s\n", e.at.Seconds(), e.text) }
	if len(t.entries) <= maxLines {
		for _, e := range t.entries {
			write(e)
		}
		return b.String()
	}
	for _, e := range t.entries[:maxLines/4] {
		write(e)
	}
	fmt.Fprintf(&b, "  … %d entries left out …\n", len(t.entries)-maxLines)
	for _, e := range t.entries[len(t.entries)-maxLines*3/4:] {
		write(e)
	}
	return b.String()
}
