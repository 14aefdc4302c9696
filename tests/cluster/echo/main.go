// Command echo is the cluster tests' workload: one static binary in a scratch image.
//
//	echo serve              answer HTTP on :8080 with "hello from <hostname>"
//	echo get URL            GET URL (retrying for 30s) and print the body
//	echo write PATH TEXT    write TEXT to PATH
//	echo read PATH          print the contents of PATH
//	echo resolve NAME       print the addresses NAME resolves to (the Pod's resolv.conf)
//	echo env NAME           print the environment variable NAME (a scratch image has no shell)
//	echo sleep              block until SIGTERM
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: echo serve|get URL|write PATH TEXT|read PATH|resolve NAME|env NAME|sleep")
	}
	switch os.Args[1] {
	case "serve":
		host, _ := os.Hostname()
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s\n", host)
		})
		fail(http.ListenAndServe(":8080", nil))
	case "get":
		get(os.Args[2])
	case "write":
		if err := os.WriteFile(os.Args[2], []byte(os.Args[3]), 0o644); err != nil {
			fail(err)
		}
	case "read":
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			fail(err)
		}
		os.Stdout.Write(data)
	case "resolve":
		addrs, err := net.LookupHost(os.Args[2])
		if err != nil {
			fail(err)
		}
		fmt.Println(strings.Join(addrs, " "))
	case "env":
		fmt.Println(os.Getenv(os.Args[2]))
	case "sleep":
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
		<-signals
	default:
		fail("unknown command " + os.Args[1])
	}
}

func get(url string) {
	// A fresh connection per attempt: a retry must not reuse a connection made before
	// the Service's rules were in place.
	client := http.Client{
		Timeout:   3 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				os.Stdout.Write(body)
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			fail(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func fail(v any) {
	fmt.Fprintln(os.Stderr, v)
	os.Exit(1)
}
