package streaming_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/exec"

	"github.com/project-seven/seven/cluster/kubelet/streaming"
	"github.com/project-seven/seven/cluster/kubelet/streaming/streamingtest"
)

// server serves /exec with a command set of its own: "echo" copies stdin
// to stdout, "fail N" writes to stderr and exits N, "size" prints the
// first terminal size; and /portForward to the echo listener.
func server(t *testing.T, echo net.Listener) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/exec", func(w http.ResponseWriter, r *http.Request) {
		opts, err := streaming.ParseOptions(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cmd := r.URL.Query()["command"]
		streaming.ServeRemoteCommand(w, r, opts, streaming.Config{}, func(ctx context.Context, s streaming.Streams) error {
			switch cmd[0] {
			case "echo":
				_, err := io.Copy(s.Stdout, s.Stdin)
				return err
			case "fail":
				fmt.Fprint(s.Stderr, "failing")
				var code int
				fmt.Sscan(cmd[1], &code)
				return streaming.ExitError{Code: code}
			case "size":
				select {
				case size := <-s.Resize:
					fmt.Fprintf(s.Stdout, "%dx%d", size.Width, size.Height)
				case <-ctx.Done():
				}
				return nil
			}
			return fmt.Errorf("unknown command %q", cmd[0])
		})
	})
	mux.HandleFunc("/portForward", func(w http.ResponseWriter, r *http.Request) {
		streaming.ServePortForward(w, r, streaming.Config{}, func(ctx context.Context, port int32, stream io.ReadWriteCloser) error {
			if port != 7 {
				return fmt.Errorf("nothing listens on port %d", port)
			}
			conn, err := net.Dial("tcp", echo.Addr().String())
			if err != nil {
				return err
			}
			return streaming.Copy(ctx, stream, conn)
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// echoServer answers every line with the line upper-cased.
func echoServer(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintln(c, strings.ToUpper(sc.Text()))
				}
			}()
		}
	}()
	return ln
}

func execURL(srv *httptest.Server, q url.Values) *url.URL {
	u, _ := url.Parse(srv.URL + "/exec")
	u.RawQuery = q.Encode()
	return u
}

func TestRemoteCommand(t *testing.T) {
	srv := server(t, echoServer(t))
	cfg := &rest.Config{Host: srv.URL}
	for _, tr := range streamingtest.Transports {
		t.Run(string(tr), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			// Upstream parameter names; stdin ends when the client's input does.
			u := execURL(srv, url.Values{"command": {"echo"}, "input": {"1"}, "output": {"1"}, "error": {"1"}})
			res := streamingtest.Stream(ctx, cfg, tr, http.MethodPost, u, strings.NewReader("hello\nworld\n"), false)
			if res.Err != nil || res.Stdout != "hello\nworld\n" {
				t.Errorf("echo: %+v", res)
			}

			// A non-zero exit reaches the client as its exit code, after
			// all of the output.
			u = execURL(srv, url.Values{"command": {"fail", "3"}, "output": {"1"}, "error": {"1"}})
			res = streamingtest.Stream(ctx, cfg, tr, http.MethodPost, u, nil, false)
			code, ok := res.Err.(exec.ExitError)
			if !ok || code.ExitStatus() != 3 || res.Stderr != "failing" {
				t.Errorf("fail 3: %+v", res)
			}

			// The legacy names Seven's API server used to send still work.
			u = execURL(srv, url.Values{"command": {"fail", "4"}, "stdout": {"true"}, "stderr": {"true"}})
			res = streamingtest.Stream(ctx, cfg, tr, http.MethodPost, u, nil, false)
			if code, ok := res.Err.(exec.ExitError); !ok || code.ExitStatus() != 4 {
				t.Errorf("legacy names: %+v", res)
			}

			// A terminal gets the client's size on the resize stream.
			u = execURL(srv, url.Values{"command": {"size"}, "input": {"1"}, "output": {"1"}, "tty": {"1"}})
			res = streamingtest.Stream(ctx, cfg, tr, http.MethodPost, u, &blockingReader{ctx: ctx}, true)
			if res.Err != nil || res.Stdout != "80x24" {
				t.Errorf("size: %+v", res)
			}
		})
	}
}

// blockingReader is a terminal's stdin that never types anything.
type blockingReader struct{ ctx context.Context }

func (b *blockingReader) Read([]byte) (int, error) {
	<-b.ctx.Done()
	return 0, io.EOF
}

func TestRemoteCommandRejectsNoStreams(t *testing.T) {
	srv := server(t, echoServer(t))
	resp, err := http.Post(execURL(srv, url.Values{"command": {"echo"}}).String(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
}

func TestPortForward(t *testing.T) {
	srv := server(t, echoServer(t))
	cfg := &rest.Config{Host: srv.URL}
	u, _ := url.Parse(srv.URL + "/portForward")
	for _, tr := range streamingtest.Transports {
		t.Run(string(tr), func(t *testing.T) {
			fw, err := streamingtest.PortForward(cfg, tr, u, 7)
			if err != nil {
				t.Fatal(err)
			}
			defer fw.Close()
			// Two connections, one after the other and at once: each is
			// a stream pair of its own.
			for i := range 2 {
				a := dialLocal(t, fw.Local)
				b := dialLocal(t, fw.Local)
				for j, c := range []net.Conn{a, b} {
					msg := fmt.Sprintf("round %d conn %d", i, j)
					fmt.Fprintln(c, msg)
					line, err := bufio.NewReader(c).ReadString('\n')
					if err != nil || line != strings.ToUpper(msg)+"\n" {
						t.Errorf("%s: got %q, %v", msg, line, err)
					}
					c.Close()
				}
			}
		})
	}
}

func dialLocal(t *testing.T, port uint16) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}
