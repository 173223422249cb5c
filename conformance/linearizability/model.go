// Package linearizability checks histories of API operations on a set of
// keys (one register per key: read, write, compare-and-set) with porcupine.
// Operations whose outcome is unknown (a timeout, a dropped connection) may
// or may not have taken effect; the model allows both.
package linearizability

import (
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"
)

// Kind of operation.
type Kind int

// Kinds.
const (
	Read Kind = iota
	Write
	CAS
)

// Op is one recorded operation.
type Op struct {
	Client int
	Kind   Kind
	Key    string
	// Value is written (Write, CAS) or was read (Read).
	Value string
	// Expect is the value a CAS required.
	Expect string
	// OK is a CAS's outcome.
	OK bool
	// Unknown marks an operation whose effect is unknown (it failed without
	// a definite answer).
	Unknown bool
	Call    time.Duration
	Return  time.Duration
}

func (o Op) String() string {
	u := ""
	if o.Unknown {
		u = "?"
	}
	switch o.Kind {
	case Read:
		return fmt.Sprintf("read(%s)=%q%s", o.Key, o.Value, u)
	case Write:
		return fmt.Sprintf("write(%s, %q)%s", o.Key, o.Value, u)
	}
	return fmt.Sprintf("cas(%s, %q→%q)=%v%s", o.Key, o.Expect, o.Value, o.OK, u)
}

type input struct {
	kind          Kind
	key           string
	value, expect string
}

type output struct {
	value   string
	ok      bool
	unknown bool
}

// Model returns the porcupine model of registers keyed by name, each
// starting at initial.
func Model(initial string) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[string][]porcupine.Operation{}
			var keys []string
			for _, op := range history {
				k := op.Input.(input).key
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() []any { return []any{initial} },
		Step: func(state, in, out any) []any {
			s, i, o := state.(string), in.(input), out.(output)
			switch i.kind {
			case Read:
				if o.unknown || o.value == s {
					return []any{s}
				}
				return nil
			case Write:
				if o.unknown {
					return []any{s, i.value}
				}
				return []any{i.value}
			case CAS:
				switch {
				case o.unknown && s == i.expect:
					return []any{s, i.value}
				case o.unknown:
					return []any{s}
				case o.ok && s == i.expect:
					return []any{i.value}
				case !o.ok && s != i.expect:
					return []any{s}
				}
				return nil
			}
			return nil
		},
		Equal: func(a, b any) bool { return a.(string) == b.(string) },
		DescribeOperation: func(in, out any) string {
			i, o := in.(input), out.(output)
			return Op{Kind: i.kind, Key: i.key, Value: map[bool]string{true: o.value, false: i.value}[i.kind == Read], Expect: i.expect, OK: o.ok, Unknown: o.unknown}.String()
		},
		DescribeState: func(s any) string { return fmt.Sprintf("%q", s) },
	}
	return nm.ToModel()
}

// Result of a check.
type Result struct {
	// Linearizable is true when a linearization exists; false when none does
	// or the check timed out (Undecided).
	Linearizable bool
	Undecided    bool
	Ops          int
}

// Check checks ops against the model, giving up after timeout. Reads with an
// unknown outcome carry no information and are dropped; operations with an
// unknown outcome are open until the end of the history.
func Check(initial string, ops []Op, timeout time.Duration) Result {
	var end time.Duration
	for _, o := range ops {
		end = max(end, o.Return)
	}
	var hist []porcupine.Operation
	for _, o := range ops {
		if o.Kind == Read && o.Unknown {
			continue
		}
		ret := o.Return
		if o.Unknown {
			ret = end + time.Second
		}
		in := input{kind: o.Kind, key: o.Key, value: o.Value, expect: o.Expect}
		if o.Kind == Read {
			in.value = ""
		}
		hist = append(hist, porcupine.Operation{
			ClientId: o.Client, Input: in, Call: int64(o.Call), Return: int64(ret),
			Output: output{value: o.Value, ok: o.OK, unknown: o.Unknown},
		})
	}
	res := porcupine.CheckOperationsTimeout(Model(initial), hist, timeout)
	return Result{Linearizable: res == porcupine.Ok, Undecided: res == porcupine.Unknown, Ops: len(hist)}
}
