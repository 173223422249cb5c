// Package streaming is the server side of the kubelet's streaming
// protocols, the ones an API server (Seven's or an upstream kube-apiserver)
// or a client talking to the kubelet directly uses for exec, attach and
// port-forward. It knows the wire and nothing of pods: the kubelet hands it
// a request and a function that runs the command or dials the port.
//
//   - remotecommand.go: exec and attach. The options come from the query
//     (command, input, output, error, tty; the legacy stdin, stdout, stderr
//     are accepted too). The connection is upgraded either to SPDY/3.1 with
//     X-Stream-Protocol-Version v4.channel.k8s.io (or v3, v2, channel.k8s.io),
//     one SPDY stream per standard stream plus error and resize, or to a
//     WebSocket with subprotocol v5.channel.k8s.io, v4.channel.k8s.io,
//     channel.k8s.io or their base64 variants: one channel byte in front of
//     every message (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; v5 adds
//     the close signal 255 that half-closes stdin). The end is reported on
//     the error stream: a metav1.Status (v4, v5) with the exit code as a
//     cause, or a plain message (older versions).
//   - portforward.go: port-forward. SPDY/3.1 with protocol portforward.k8s.io:
//     the client opens an error and a data stream per connection, both with
//     the headers port and requestID. A WebSocket with the subprotocol
//     SPDY/3.1+portforward.k8s.io tunnels that same SPDY session (tunnel.go).
//     A WebSocket with v4.channel.k8s.io (or v4.base64.channel.k8s.io, or no
//     subprotocol) and port query parameters carries one data and one error
//     channel per port, each starting with the port as two little-endian bytes.
//
// The multiplexing itself is k8s.io/streaming's (httpstream, spdy, wsstream);
// this package adds what upstream keeps in the kubelet's own tree: which
// streams to wait for, the protocol versions, the status on the error stream.
package streaming
