// Command app is the test container of the runtime tests: a static binary
// with a few behaviours chosen by its arguments.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: app echo|exit|env|hostname|cat|sleep|trap|spin|hog")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "echo": // echo words to stdout, "err:" words to stderr
		for _, w := range os.Args[2:] {
			if s, ok := strings.CutPrefix(w, "err:"); ok {
				fmt.Fprintln(os.Stderr, s)
			} else {
				fmt.Println(w)
			}
		}
	case "exit":
		n, _ := strconv.Atoi(os.Args[2])
		os.Exit(n)
	case "env":
		for _, kv := range os.Environ() {
			fmt.Println(kv)
		}
	case "hostname":
		h, _ := os.Hostname()
		fmt.Println(h)
	case "cat":
		b, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Stdout.Write(b)
	case "sleep":
		fmt.Println("sleeping")
		time.Sleep(time.Hour)
	case "trap": // ignore SIGTERM
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("trapping")
		time.Sleep(time.Hour)
	case "spin": // burn CPU until killed
		fmt.Println("spinning")
		for n := 0; ; n++ {
			_ = n
		}
	case "hog": // allocate N MiB and touch it
		n, _ := strconv.Atoi(os.Args[2])
		var keep [][]byte
		for i := 0; i < n; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep))
		time.Sleep(time.Hour)
	default:
		os.Exit(2)
	}
}
