package streaming

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// Options say which standard streams a remote command has.
type Options struct {
	Stdin, Stdout, Stderr, TTY bool
}

// ParseOptions reads the stream options of an exec or attach request: the
// upstream kubelet's query parameters input, output, error and tty, with
// stdin, stdout and stderr accepted as other names for the first three.
// As upstream, a terminal has no separate stderr, and at least one stream
// is required.
func ParseOptions(q url.Values) (Options, error) {
	o := Options{
		Stdin:  flag(q, corev1.ExecStdinParam) || flag(q, "stdin"),
		Stdout: flag(q, corev1.ExecStdoutParam) || flag(q, "stdout"),
		Stderr: flag(q, corev1.ExecStderrParam) || flag(q, "stderr"),
		TTY:    flag(q, corev1.ExecTTYParam),
	}
	if o.TTY {
		o.Stderr = false
	}
	if !o.Stdin && !o.Stdout && !o.Stderr {
		return o, errors.New("you must specify at least 1 of stdin, stdout, stderr")
	}
	return o, nil
}

// flag reads a boolean query parameter: "1" as the API server sends it, or
// anything strconv.ParseBool takes as true.
func flag(q url.Values, name string) bool {
	b, _ := strconv.ParseBool(q.Get(name))
	return b
}

// TerminalSize is a resize event of a terminal session.
type TerminalSize struct {
	Width  uint16
	Height uint16
}

// Streams are what a Runner reads from and writes to. A stream the options
// did not ask for is nil.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize delivers the terminal's size changes (TTY only); it is closed
	// when the client is gone.
	Resize <-chan TerminalSize
}

// ExitCoder is the error a Runner returns when the command ran and exited
// with a non-zero code (client-go's exec.CodeExitError is one).
type ExitCoder interface {
	error
	ExitStatus() int
}

// ExitError is an ExitCoder.
type ExitError struct{ Code int }

func (e ExitError) Error() string   { return fmt.Sprintf("command terminated with exit code %d", e.Code) }
func (e ExitError) ExitStatus() int { return e.Code }

// Runner runs the command (or attaches) with the session's streams. Its
// context ends when the client is gone. nil is a success; an ExitCoder a
// non-zero exit; any other error is reported as an internal error.
type Runner func(ctx context.Context, s Streams) error

// Config tunes the sessions; the zero value has the upstream kubelet's
// timeouts.
type Config struct {
	// StreamCreationTimeout bounds the wait for the client's SPDY streams
	// (default 30s).
	StreamCreationTimeout time.Duration
	// IdleTimeout closes a session without traffic (default 4h).
	IdleTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.StreamCreationTimeout <= 0 {
		c.StreamCreationTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 4 * time.Hour
	}
	return c
}

// remoteCommandProtocols are the SPDY protocol versions, preferred first.
var remoteCommandProtocols = []string{
	remotecommand.StreamProtocolV4Name,
	remotecommand.StreamProtocolV3Name,
	remotecommand.StreamProtocolV2Name,
	remotecommand.StreamProtocolV1Name,
}

// WebSocket subprotocols of exec and attach.
const (
	v4BinaryWebSocket = "v4." + wsstream.ChannelWebSocketProtocol
	v4Base64WebSocket = "v4." + wsstream.Base64ChannelWebSocketProtocol
)

// Channels of a remote command WebSocket.
const (
	stdinChannel = iota
	stdoutChannel
	stderrChannel
	errorChannel
	resizeChannel
)

// ServeRemoteCommand upgrades an exec or attach request (WebSocket or SPDY)
// and runs run with its streams; the outcome goes to the client on the
// error stream. It returns when the session is over.
func ServeRemoteCommand(w http.ResponseWriter, r *http.Request, opts Options, cfg Config, run Runner) {
	cfg = cfg.withDefaults()
	var s *session
	if wsstream.IsWebSocketRequest(r) {
		s = openWebSocket(w, r, opts, cfg)
	} else {
		s = openSPDY(w, r, opts, cfg)
	}
	if s == nil {
		return // the client was told
	}
	defer s.close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.gone:
			cancel()
		case <-ctx.Done():
		}
	}()
	streams := Streams{TTY: opts.TTY}
	if s.stdin != nil {
		streams.Stdin = s.stdin
	}
	if s.stdout != nil {
		streams.Stdout = s.stdout
	}
	if s.stderr != nil {
		streams.Stderr = s.stderr
	}
	if s.resize != nil {
		sizes := make(chan TerminalSize)
		streams.Resize = sizes
		go decodeResizes(ctx, s.resize, sizes)
	}
	err := run(ctx, streams)
	// The output ends before the status, so that a client has all of it
	// when it learns the outcome.
	for _, c := range []io.Closer{s.stdout, s.stderr} {
		if c != nil {
			_ = c.Close()
		}
	}
	_ = s.writeStatus(statusOf(err))
}

// statusOf is the outcome of a command as the error stream carries it.
func statusOf(err error) metav1.Status {
	var exit ExitCoder
	switch {
	case err == nil:
		return metav1.Status{Status: metav1.StatusSuccess}
	case errors.As(err, &exit):
		return metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommand.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: %v", err),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
				Type:    remotecommand.ExitCodeCauseType,
				Message: strconv.Itoa(exit.ExitStatus()),
			}}},
		}
	default:
		return metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusInternalServerError,
			Reason:  metav1.StatusReasonInternalError,
			Message: fmt.Sprintf("error executing command in container: %v", err),
		}
	}
}

func decodeResizes(ctx context.Context, r io.Reader, out chan<- TerminalSize) {
	defer close(out)
	dec := json.NewDecoder(r)
	for {
		var size TerminalSize
		if err := dec.Decode(&size); err != nil {
			return
		}
		select {
		case out <- size:
		case <-ctx.Done():
			return
		}
	}
}

// session is an upgraded remote command connection.
type session struct {
	stdin          io.Reader
	stdout, stderr io.WriteCloser
	resize         io.Reader
	// writeStatus reports the outcome in the negotiated version's format.
	writeStatus func(metav1.Status) error
	// gone is closed when the client's connection ends.
	gone  <-chan struct{}
	close func()
}

// jsonStatus writes the status as JSON (v4 and v5).
func jsonStatus(w io.Writer) func(metav1.Status) error {
	return func(st metav1.Status) error {
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
}

// textStatus writes the message of a failure (protocols before v4).
func textStatus(w io.Writer) func(metav1.Status) error {
	return func(st metav1.Status) error {
		if st.Status == metav1.StatusSuccess {
			return nil
		}
		_, err := io.WriteString(w, st.Message)
		return err
	}
}

func openWebSocket(w http.ResponseWriter, r *http.Request, opts Options, cfg Config) *session {
	read := func(on bool) wsstream.ChannelType {
		if on {
			return wsstream.ReadChannel
		}
		return wsstream.IgnoreChannel
	}
	write := func(on bool) wsstream.ChannelType {
		if on {
			return wsstream.WriteChannel
		}
		return wsstream.IgnoreChannel
	}
	// The error channel also reads, although no client writes to it: its
	// reader ends when the connection does, which is how a session notices
	// a client that went away.
	channels := []wsstream.ChannelType{read(opts.Stdin), write(opts.Stdout), write(opts.Stderr), wsstream.ReadWriteChannel, read(opts.TTY)}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		"":                                      {Binary: true, Channels: channels},
		wsstream.ChannelWebSocketProtocol:       {Binary: true, Channels: channels},
		wsstream.Base64ChannelWebSocketProtocol: {Binary: false, Channels: channels},
		v4BinaryWebSocket:                       {Binary: true, Channels: channels},
		v4Base64WebSocket:                       {Binary: false, Channels: channels},
		remotecommand.StreamProtocolV5Name:      {Binary: true, Channels: channels},
	})
	conn.SetIdleTimeout(cfg.IdleTimeout)
	protocol, streams, err := conn.Open(w, r)
	if err != nil {
		return nil // the WebSocket server answered the handshake failure
	}
	// A first, empty message tells the client the session is up.
	switch {
	case opts.Stdout:
		_, _ = streams[stdoutChannel].Write(nil)
	case opts.Stderr:
		_, _ = streams[stderrChannel].Write(nil)
	default:
		_, _ = streams[errorChannel].Write(nil)
	}
	gone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, streams[errorChannel])
		close(gone)
	}()
	s := &session{gone: gone, close: func() { _ = conn.Close() }}
	if opts.Stdin {
		s.stdin = streams[stdinChannel]
	}
	if opts.Stdout {
		s.stdout = nopCloser{streams[stdoutChannel]}
	}
	if opts.Stderr {
		s.stderr = nopCloser{streams[stderrChannel]}
	}
	if opts.TTY {
		s.resize = streams[resizeChannel]
	}
	switch protocol {
	case v4BinaryWebSocket, v4Base64WebSocket, remotecommand.StreamProtocolV5Name:
		s.writeStatus = jsonStatus(streams[errorChannel])
	default:
		s.writeStatus = textStatus(streams[errorChannel])
	}
	return s
}

// nopCloser keeps a WebSocket channel open: the channels have no
// half-close towards the client, the connection's end is the end.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// streamAndReply is a new SPDY stream and the signal that its reply frame
// went out (only then may the stream be written to and closed safely).
type streamAndReply struct {
	httpstream.Stream
	replySent <-chan struct{}
}

func openSPDY(w http.ResponseWriter, r *http.Request, opts Options, cfg Config) *session {
	protocol, err := httpstream.Handshake(r, w, remoteCommandProtocols)
	if err != nil {
		return nil // Handshake answered
	}
	incoming := make(chan streamAndReply)
	stop := make(chan struct{})
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(st httpstream.Stream, replySent <-chan struct{}) error {
		select {
		case incoming <- streamAndReply{st, replySent}:
			return nil
		case <-stop:
			return errors.New("unexpected stream: the session has all of its streams")
		}
	})
	if conn == nil {
		return nil // UpgradeResponse answered
	}
	conn.SetIdleTimeout(cfg.IdleTimeout)
	resizes := protocol != remotecommand.StreamProtocolV2Name && protocol != remotecommand.StreamProtocolV1Name
	want := 1 // the error stream
	for _, on := range []bool{opts.Stdin, opts.Stdout, opts.Stderr, opts.TTY && resizes} {
		if on {
			want++
		}
	}
	s := &session{close: func() { _ = conn.Close() }}
	gone := make(chan struct{})
	go func() {
		<-conn.CloseChan()
		close(gone)
	}()
	s.gone = gone
	var errStream httpstream.Stream
	replied := make(chan struct{})
	expired := time.NewTimer(cfg.StreamCreationTimeout)
	defer expired.Stop()
	for got := 0; got < want; {
		select {
		case st := <-incoming:
			switch st.Headers().Get(corev1.StreamType) {
			case corev1.StreamTypeError:
				errStream = st
			case corev1.StreamTypeStdin:
				s.stdin = st
			case corev1.StreamTypeStdout:
				s.stdout = st
			case corev1.StreamTypeStderr:
				s.stderr = st
			case corev1.StreamTypeResize:
				s.resize = st
			default:
				_ = st.Reset()
				continue
			}
			go func() {
				select {
				case <-st.replySent:
					replied <- struct{}{}
				case <-stop:
				}
			}()
		case <-replied:
			got++
		case <-expired.C:
			close(stop)
			_ = conn.Close()
			return nil
		case <-gone:
			close(stop)
			return nil
		}
	}
	close(stop)
	if errStream == nil {
		// A session without an error stream cannot report anything.
		_ = conn.Close()
		return nil
	}
	if protocol == remotecommand.StreamProtocolV4Name {
		s.writeStatus = jsonStatus(errStream)
	} else {
		s.writeStatus = textStatus(errStream)
	}
	writeStatus := s.writeStatus
	s.writeStatus = func(st metav1.Status) error {
		err := writeStatus(st)
		_ = errStream.Close()
		return err
	}
	return s
}

// IsUpgrade reports whether r asks for a streaming upgrade (SPDY or
// WebSocket), which is what exec, attach and port-forward require.
func IsUpgrade(r *http.Request) bool {
	return httpstream.IsUpgradeRequest(r) && r.Header.Get(httpstream.HeaderUpgrade) != "" &&
		(wsstream.IsWebSocketRequest(r) || strings.EqualFold(r.Header.Get(httpstream.HeaderUpgrade), spdy.HeaderSpdy31))
}
