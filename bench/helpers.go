package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
)

// runHelper serves one helper role until interrupted: the Go baselines run
// as processes of their own.
//
//	echo ADDR          a goroutine-per-connection echo server (io.Copy)
//	frames ADDR        a goroutine-per-connection framed echo server
//	lines ADDR         a goroutine-per-connection line echo server (bufio)
//	relay ADDR TARGET  a goroutine-per-connection relay (io.Copy both ways)
//	sendfile FILE ADDR copy FILE to ADDR with io.Copy (sendfile(2)), then exit
//	tls-*              the TLS scenarios' roles (scenario_tls_helpers.go)
//	ws-*               the WebSocket scenarios' roles (scenario_ws_helpers.go)
func runHelper(role string, args []string) error {
	if strings.HasPrefix(role, "tls-") {
		return runTLSHelper(role, args)
	}
	if strings.HasPrefix(role, "ws-") {
		return runWSHelper(role, args)
	}
	switch role {
	case "echo", "frames", "lines", "relay":
		ln, err := net.Listen("tcp", args[0])
		if err != nil {
			return err
		}
		serve := map[string]func(net.Conn){
			// io.Copy(c, c) splices: it holds a pipe (two more
			// descriptors) per connection while waiting for bytes.
			"echo":   func(c net.Conn) { io.Copy(c, c) },
			"frames": echoFrames,
			"lines":  echoLines,
			"relay": func(c net.Conn) {
				up, err := net.Dial("tcp", args[1])
				if err != nil {
					return
				}
				defer up.Close()
				go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, up)
			},
		}[role]
		go acceptLoop(ln, serve)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		<-sig
		return nil
	case "pingpong":
		// pingpong ADDR SIZE N [frames]: round trips for a profiler to watch.
		size, _ := strconv.Atoi(args[1])
		n, _ := strconv.Atoi(args[2])
		lat, err := roundTripsN(args[0], size, n, len(args) > 3 && args[3] == "frames")
		if err != nil {
			return err
		}
		fmt.Printf("%d round trips of %d B: p50 %.1f p99 %.1f p999 %.1f µs\n", len(lat), size,
			quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 0.999))
		return nil
	case "frames-worker":
		// A request worker: it connects to the router and echoes frames.
		c, err := net.Dial("tcp", args[0])
		if err != nil {
			return err
		}
		echoFrames(c)
		return nil
	case "sendfile":
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		c, err := net.Dial("tcp", args[1])
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = io.Copy(c, f) // *net.TCPConn.ReadFrom(*os.File): sendfile
		return err
	}
	return nil
}

// acceptLoop serves each connection on a goroutine of its own. Like
// net/http it waits and tries again after an accept error (out of
// descriptors, say) instead of ending: a listener nobody accepts on leaves
// clients hanging, not refused.
func acceptLoop(ln net.Listener, serve func(net.Conn)) {
	var wait time.Duration
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			wait = min(max(2*wait, 5*time.Millisecond), time.Second)
			fmt.Fprintf(os.Stderr, "accept: %v; retrying in %v\n", err, wait)
			time.Sleep(wait)
			continue
		}
		wait = 0
		go func() {
			defer c.Close()
			serve(c)
		}()
	}
}

// echoLines sends each line back as it arrives, through a 4 KiB buffer.
func echoLines(c net.Conn) {
	rd := bufio.NewReader(c)
	for {
		line, err := rd.ReadSlice('\n')
		if len(line) > 0 {
			if _, werr := c.Write(line); werr != nil {
				return
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// echoFrames answers each frame (an 8-byte little-endian length, then that
// many bytes) with the same frame, the way a Go user writes a framed echo
// service: read the header, allocate the payload, read it whole, write
// both back in one writev.
func echoFrames(c net.Conn) {
	const maxFrame = 128 << 20 // as the pxroute contender's max_frame
	var header [8]byte
	for {
		if _, err := io.ReadFull(c, header[:]); err != nil {
			return
		}
		n := binary.LittleEndian.Uint64(header[:])
		if n > maxFrame {
			return
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c, payload); err != nil {
			return
		}
		frame := net.Buffers{header[:], payload}
		if _, err := frame.WriteTo(c); err != nil {
			return
		}
	}
}
