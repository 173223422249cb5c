package proxy

import (
	"slices"
	"time"
)

// State is what one listener remembers between connections: the
// round-robin cursor and the ClientIP affinity records.
type State struct {
	// Cursor is the index, in the eligible endpoints, where the next
	// round-robin search starts.
	Cursor int
	// Sticky maps a client IP to the endpoint it is held to.
	Sticky map[string]Stick
}

// Stick is one ClientIP affinity record.
type Stick struct {
	Endpoint string
	// Last is when the client last got a connection through it; the record
	// lapses Affinity after Last.
	Last time.Time
}

// Request describes one new connection to place.
type Request struct {
	// Endpoints are the eligible endpoints, in a stable order.
	Endpoints []string
	// Client is the client's IP.
	Client string
	// Affinity is the ClientIP affinity timeout; 0 means round-robin only.
	Affinity time.Duration
	// Now is the time of the request.
	Now time.Time
	// Tried are the endpoints that already refused this connection.
	Tried []string
}

// Decision is where a connection goes and what to remember.
type Decision struct {
	// Endpoint is the chosen "ip:port".
	Endpoint string
	// Cursor is the new round-robin cursor.
	Cursor int
	// Stick, when not nil, is the affinity record to store for the client.
	Stick *Stick
}

// Pick chooses the endpoint of a new connection. A client with a live
// affinity record goes back to its endpoint while that endpoint is eligible
// and has not refused this connection; anyone else gets the next endpoint in
// round-robin order that has not been tried. ok is false when no endpoint is
// left. Pick does not change s: the caller stores the decision.
func Pick(s State, r Request) (d Decision, ok bool) {
	d.Cursor = s.Cursor
	if r.Affinity > 0 {
		if st, found := s.Sticky[r.Client]; found && r.Now.Sub(st.Last) <= r.Affinity &&
			slices.Contains(r.Endpoints, st.Endpoint) && !slices.Contains(r.Tried, st.Endpoint) {
			d.Endpoint = st.Endpoint
			d.Stick = &Stick{Endpoint: st.Endpoint, Last: r.Now}
			return d, true
		}
	}
	n := len(r.Endpoints)
	start := 0
	if n > 0 {
		start = ((s.Cursor % n) + n) % n
	}
	for i := range n {
		j := (start + i) % n
		if slices.Contains(r.Tried, r.Endpoints[j]) {
			continue
		}
		d.Endpoint = r.Endpoints[j]
		d.Cursor = (j + 1) % n
		if r.Affinity > 0 {
			d.Stick = &Stick{Endpoint: d.Endpoint, Last: r.Now}
		}
		return d, true
	}
	return d, false
}

// Apply stores d in s for client.
func (s *State) Apply(client string, d Decision) {
	s.Cursor = d.Cursor
	if d.Stick != nil {
		if s.Sticky == nil {
			s.Sticky = map[string]Stick{}
		}
		s.Sticky[client] = *d.Stick
	}
}

// Expire drops the affinity records older than affinity at now.
func (s *State) Expire(affinity time.Duration, now time.Time) {
	for c, st := range s.Sticky {
		if affinity <= 0 || now.Sub(st.Last) > affinity {
			delete(s.Sticky, c)
		}
	}
}
