// Command app is the test container of the runtime tests: a static binary
// with a few behaviours chosen by its arguments.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: app echo|exit|env|hostname|cat|self|ifaces|write|sleep|trap|spin|hog")
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
	case "stdin": // copy stdin to stdout until EOF
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "cat":
		b, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Stdout.Write(b)
	case "self": // identity and isolation as the container sees them
		fmt.Printf("pid=%d uid=%d gid=%d\n", os.Getpid(), os.Getuid(), os.Getgid())
		groups, _ := os.Getgroups()
		fmt.Printf("groups=%v\n", groups)
		b, _ := os.ReadFile("/proc/self/status")
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "CapEff:") || strings.HasPrefix(line, "CapBnd:") || strings.HasPrefix(line, "NoNewPrivs:") {
				fmt.Println(strings.Join(strings.Fields(line), " "))
			}
		}
		entries, _ := os.ReadDir("/proc")
		n := 0
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				n++
			}
		}
		fmt.Printf("procs=%d\n", n)
	case "ifaces": // the network interfaces the container sees
		ifs, _ := net.Interfaces()
		for _, i := range ifs {
			fmt.Println(i.Name)
		}
	case "write": // write a file, or say why not
		if err := os.WriteFile(os.Args[2], []byte("x"), 0o644); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("written")
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
