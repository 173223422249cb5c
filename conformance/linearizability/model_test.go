package linearizability

import (
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		ops  []Op
		want bool
	}{
		{"sequential", []Op{
			{Kind: Write, Key: "a", Value: "1", Call: ms(0), Return: ms(1)},
			{Kind: Read, Key: "a", Value: "1", Call: ms(2), Return: ms(3)},
		}, true},
		{"stale read after write", []Op{
			{Kind: Write, Key: "a", Value: "1", Call: ms(0), Return: ms(1)},
			{Kind: Read, Key: "a", Value: "0", Call: ms(2), Return: ms(3)},
		}, false},
		{"concurrent read may see either", []Op{
			{Kind: Write, Key: "a", Value: "1", Call: ms(0), Return: ms(10)},
			{Client: 1, Kind: Read, Key: "a", Value: "0", Call: ms(1), Return: ms(2)},
			{Client: 2, Kind: Read, Key: "a", Value: "1", Call: ms(3), Return: ms(4)},
		}, true},
		{"value goes back in time", []Op{
			{Kind: Write, Key: "a", Value: "1", Call: ms(0), Return: ms(10)},
			{Client: 1, Kind: Read, Key: "a", Value: "1", Call: ms(1), Return: ms(2)},
			{Client: 2, Kind: Read, Key: "a", Value: "0", Call: ms(3), Return: ms(4)},
		}, false},
		{"cas succeeds on the current value", []Op{
			{Kind: CAS, Key: "a", Expect: "0", Value: "1", OK: true, Call: ms(0), Return: ms(1)},
			{Kind: CAS, Key: "a", Expect: "0", Value: "2", OK: false, Call: ms(2), Return: ms(3)},
			{Kind: Read, Key: "a", Value: "1", Call: ms(4), Return: ms(5)},
		}, true},
		{"two cas from the same value both succeed", []Op{
			{Kind: CAS, Key: "a", Expect: "0", Value: "1", OK: true, Call: ms(0), Return: ms(5)},
			{Client: 1, Kind: CAS, Key: "a", Expect: "0", Value: "2", OK: true, Call: ms(0), Return: ms(5)},
		}, false},
		{"unknown write may have happened", []Op{
			{Kind: Write, Key: "a", Value: "1", Unknown: true, Call: ms(0), Return: ms(1)},
			{Kind: Read, Key: "a", Value: "1", Call: ms(2), Return: ms(3)},
		}, true},
		{"unknown write may not have happened", []Op{
			{Kind: Write, Key: "a", Value: "1", Unknown: true, Call: ms(0), Return: ms(1)},
			{Kind: Read, Key: "a", Value: "0", Call: ms(2), Return: ms(3)},
		}, true},
		{"keys are independent", []Op{
			{Kind: Write, Key: "a", Value: "1", Call: ms(0), Return: ms(1)},
			{Kind: Read, Key: "b", Value: "0", Call: ms(2), Return: ms(3)},
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check("0", tt.ops, 5*time.Second)
			if got.Linearizable != tt.want || got.Undecided {
				t.Errorf("Check = %+v, want linearizable=%v", got, tt.want)
			}
		})
	}
}
