// Package crilog writes and reads container logs in the CRI log format that
// Kubernetes runtimes use: one record per line,
//
//	<RFC3339Nano timestamp> <stream> <tag> <content>
//
// where stream is stdout or stderr and tag is F for a full line or P for a
// partial one (a line longer than the copy buffer is split into P records
// ending with one F record). Writing happens in the container shim; reading
// serves `kubectl logs` with follow, tail, since, timestamps and limitBytes.
package crilog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Stream names.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// maxLine is the longest content of one record; longer lines are split.
const maxLine = 16 * 1024

// Writer appends records to one log file; several streams share it.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// NewWriter returns a Writer appending to w. now defaults to time.Now.
func NewWriter(w io.Writer, now func() time.Time) *Writer {
	if now == nil {
		now = time.Now
	}
	return &Writer{w: w, now: now}
}

// Copy reads r until EOF and writes each line as a record of stream.
func (w *Writer) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			w.record(stream, "F", line[:len(line)-1])
		case errors.Is(err, bufio.ErrBufferFull):
			w.record(stream, "P", line)
		case len(line) > 0:
			w.record(stream, "F", line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("copy %s: %w", stream, err)
		}
	}
}

func (w *Writer) record(stream, tag string, content []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := make([]byte, 0, len(content)+48)
	buf = w.now().UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, ' ')
	buf = append(buf, stream...)
	buf = append(buf, ' ')
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	buf = append(buf, content...)
	buf = append(buf, '\n')
	_, _ = w.w.Write(buf)
}

// Record is one parsed log line.
type Record struct {
	Time    time.Time
	Stream  string
	Partial bool
	Content []byte
}

// Parse parses one record (without its trailing newline).
func Parse(line []byte) (Record, error) {
	var r Record
	fields := bytes.SplitN(line, []byte{' '}, 4)
	if len(fields) < 3 {
		return r, fmt.Errorf("malformed log record %q", line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(fields[0]))
	if err != nil {
		return r, fmt.Errorf("malformed log timestamp: %w", err)
	}
	r.Time, r.Stream, r.Partial = t, string(fields[1]), string(fields[2]) == "P"
	if len(fields) == 4 {
		r.Content = fields[3]
	}
	return r, nil
}

// Options select what Read prints, as in corev1.PodLogOptions.
type Options struct {
	// Follow keeps reading new records until ctx ends or Done reports true
	// and the file has been drained.
	Follow bool
	// Done reports whether the writer has finished (the container exited).
	Done func() bool
	// TailLines, when set, prints only the last *TailLines lines.
	TailLines *int64
	// Since, when not zero, skips records older than it.
	Since time.Time
	// Timestamps prefixes each line with its RFC3339Nano time.
	Timestamps bool
	// LimitBytes, when > 0, stops after that many bytes.
	LimitBytes int64
	// Poll is the follow poll interval (default 100ms).
	Poll time.Duration
	// Stderr, when set, gets the stderr records apart (attach keeps the
	// two streams apart); otherwise both go to out, as `kubectl logs`
	// shows them.
	Stderr io.Writer
}

// errLimit stops reading once LimitBytes have been written.
var errLimit = errors.New("limit reached")

type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errLimit
	}
	if int64(len(p)) > l.left {
		n, err := l.w.Write(p[:l.left])
		l.left -= int64(n)
		if err == nil {
			err = errLimit
		}
		return n, err
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// Read prints the log file at path to out as `kubectl logs` shows it.
func Read(ctx context.Context, path string, opts Options, out io.Writer) error {
	if opts.LimitBytes > 0 {
		out = &limitWriter{w: out, left: opts.LimitBytes}
	}
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	p := &printer{out: out, opts: opts}
	if opts.TailLines != nil {
		start, err := tailOffset(f, *opts.TailLines)
		if err != nil {
			return err
		}
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			return fmt.Errorf("seek log: %w", err)
		}
	}
	br := bufio.NewReaderSize(f, 64*1024)
	var pending []byte
	for {
		chunk, err := br.ReadBytes('\n')
		pending = append(pending, chunk...)
		if err == nil {
			if perr := p.line(pending[:len(pending)-1]); perr != nil {
				return ignoreLimit(perr)
			}
			pending = pending[:0]
			continue
		}
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("read log: %w", err)
		}
		if !opts.Follow {
			return nil
		}
		// At EOF while following: stop once the writer is done and
		// nothing more arrived, else wait for more.
		if opts.Done != nil && opts.Done() {
			// One more drain: the writer may have appended just before finishing.
			rest, _ := io.ReadAll(br)
			pending = append(pending, rest...)
			for _, l := range bytes.SplitAfter(pending, []byte{'\n'}) {
				if len(l) > 0 && l[len(l)-1] == '\n' {
					if perr := p.line(l[:len(l)-1]); perr != nil {
						return ignoreLimit(perr)
					}
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(opts.Poll):
		}
	}
}

func ignoreLimit(err error) error {
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

type printer struct {
	out     io.Writer
	opts    Options
	partial bool // the previous record was partial: no timestamp prefix now
	buf     []byte
}

func (p *printer) line(line []byte) error {
	if len(line) == 0 {
		return nil
	}
	r, err := Parse(line)
	if err != nil {
		return nil // skip garbage rather than failing the whole read
	}
	if !p.opts.Since.IsZero() && r.Time.Before(p.opts.Since) {
		p.partial = r.Partial
		return nil
	}
	p.buf = p.buf[:0]
	if p.opts.Timestamps && !p.partial {
		p.buf = r.Time.AppendFormat(p.buf, time.RFC3339Nano)
		p.buf = append(p.buf, ' ')
	}
	p.buf = append(p.buf, r.Content...)
	if !r.Partial {
		p.buf = append(p.buf, '\n')
	}
	p.partial = r.Partial
	out := p.out
	if p.opts.Stderr != nil && r.Stream == Stderr {
		out = p.opts.Stderr
	}
	_, err = out.Write(p.buf)
	return err
}

// tailOffset returns the offset of the start of the last n full lines
// (records ending with tag F) of f.
func tailOffset(f *os.File, n int64) (int64, error) {
	if n == 0 {
		st, err := f.Stat()
		if err != nil {
			return 0, fmt.Errorf("stat log: %w", err)
		}
		return st.Size(), nil
	}
	// Scan forward keeping the offsets of the last n line starts: simple and
	// fine for the log sizes of a test cluster.
	br := bufio.NewReaderSize(f, 64*1024)
	starts := make([]int64, 0, n+1)
	var off int64
	lineStart := true
	for {
		rec, err := br.ReadBytes('\n')
		if len(rec) > 0 && err == nil {
			if lineStart {
				starts = append(starts, off)
				if int64(len(starts)) > n {
					starts = starts[1:]
				}
			}
			r, perr := Parse(rec[:len(rec)-1])
			lineStart = perr != nil || !r.Partial
			off += int64(len(rec))
		}
		if err != nil {
			break
		}
	}
	if len(starts) == 0 {
		return off, nil
	}
	return starts[0], nil
}
