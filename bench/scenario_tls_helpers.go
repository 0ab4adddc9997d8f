package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The TLS scenarios' helper roles, each a process of its own:
//
//	tls-relay ADDR TARGET CERT KEY   crypto/tls listener, a goroutine per connection, io.Copy to a plain TARGET
//	tls-lines ADDR CERT KEY          crypto/tls line echo server, a goroutine per connection (bufio)
//	tls-pump ADDR CA NAME CONNS      CONNS TLS 1.3 clients writing 16 KiB records until interrupted
//	tls-handshakes ADDR CA NAME PAR WARM MEASURE   PAR clients doing full handshakes; prints handshakes/s, failures, its CPU s
//	tls-idle-clients ADDR CA NAME N  N TLS connections, each echoing one line, then held until interrupted
func runTLSHelper(role string, args []string) error {
	raiseNoFile()
	switch role {
	case "tls-relay", "tls-lines":
		certArgs := args[1:]
		if role == "tls-relay" {
			certArgs = args[2:]
		}
		cert, err := tls.LoadX509KeyPair(certArgs[0], certArgs[1])
		if err != nil {
			return err
		}
		ln, err := tls.Listen("tcp", args[0], &tls.Config{Certificates: []tls.Certificate{cert}})
		if err != nil {
			return err
		}
		serve := echoLines
		if role == "tls-relay" {
			serve = func(c net.Conn) { tlsRelay(c.(*tls.Conn), args[1]) }
		}
		go acceptLoop(ln, serve)
		waitInterrupt()
		return nil
	case "tls-pump":
		conns, err := strconv.Atoi(args[3])
		if err != nil {
			return err
		}
		return tlsPump(args[0], args[1], args[2], conns)
	case "tls-handshakes":
		par, err1 := strconv.Atoi(args[3])
		warm, err2 := time.ParseDuration(args[4])
		measure, err3 := time.ParseDuration(args[5])
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		return tlsHandshakes(args[0], args[1], args[2], par, warm, measure)
	case "tls-idle-clients":
		n, err := strconv.Atoi(args[3])
		if err != nil {
			return err
		}
		return tlsIdleClients(args[0], args[1], args[2], n)
	}
	return fmt.Errorf("unknown helper %q", role)
}

// tlsRelay is the relay a Go user writes: finish the handshake, dial the
// plain upstream, copy both ways.
func tlsRelay(c *tls.Conn, target string) {
	if err := c.Handshake(); err != nil {
		return
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
	io.Copy(c, up)
}

// clientTLS is the benchmark clients' configuration: the run's CA, the
// certificates' name, TLS 1.3 and no session cache (every handshake full).
func clientTLS(caPath, name string) (*tls.Config, error) {
	pemBytes, err := os.ReadFile(caPath)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("%s: no certificate", caPath)
	}
	return &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS13}, nil
}

// tlsPump writes 16 KiB records on conns connections as fast as they go.
// It says "ok" on stdout once every connection is up with TLS 1.3 and
// AES-128-GCM, the suite the benchmark is about, or fails.
func tlsPump(addr, caPath, name string, conns int) error {
	conf, err := clientTLS(caPath, name)
	if err != nil {
		return err
	}
	var cs []*tls.Conn
	for range conns {
		c, err := tls.Dial("tcp", addr, conf)
		if err != nil {
			return err
		}
		if st := c.ConnectionState(); st.CipherSuite != tls.TLS_AES_128_GCM_SHA256 {
			return fmt.Errorf("negotiated %s, want TLS_AES_128_GCM_SHA256", tls.CipherSuiteName(st.CipherSuite))
		}
		cs = append(cs, c)
	}
	fmt.Println("ok")
	done := make(chan error, conns)
	for _, c := range cs {
		go func() {
			buf := make([]byte, 16<<10) // one full TLS record per write
			for {
				if _, err := c.Write(buf); err != nil {
					done <- err
					return
				}
			}
		}()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	select {
	case <-sig:
		return nil
	case err := <-done:
		return fmt.Errorf("pump: %w", err)
	}
}

// tlsHandshakes runs par clients, each connecting, completing a full
// handshake and closing, again and again; after warm it counts the
// handshakes completed over measure and prints the rate and the failures.
func tlsHandshakes(addr, caPath, name string, par int, warm, measure time.Duration) error {
	conf, err := clientTLS(caPath, name)
	if err != nil {
		return err
	}
	var ok, failed atomic.Int64
	var lastErr atomic.Value
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: conf}
	for range par {
		go func() {
			for {
				c, err := d.Dial("tcp", addr)
				if err != nil {
					failed.Add(1)
					lastErr.Store(err.Error())
					time.Sleep(time.Millisecond)
					continue
				}
				ok.Add(1)
				c.Close()
			}
		}()
	}
	time.Sleep(warm)
	ok0, f0, c0, t0 := ok.Load(), failed.Load(), selfCPU(), time.Now()
	time.Sleep(measure)
	ok1, f1, c1, t1 := ok.Load(), failed.Load(), selfCPU(), time.Now()
	if f1 > f0 {
		fmt.Fprintf(os.Stderr, "%d handshakes failed while measuring, the last: %v\n", f1-f0, lastErr.Load())
	}
	fmt.Printf("%f %d %f\n", float64(ok1-ok0)/t1.Sub(t0).Seconds(), f1-f0, c1-c0)
	return nil
}

// selfCPU is this process's user+system CPU time so far, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// tlsIdleClients opens n TLS connections (16 at a time), each sending a
// line and reading it back so the server is past its handshake, says
// "ready" on stdout, then holds them until interrupted.
func tlsIdleClients(addr, caPath, name string, n int) error {
	conf, err := clientTLS(caPath, name)
	if err != nil {
		return err
	}
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				c, err := tlsEchoOnce(addr, conf)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Println("ready")
	waitInterrupt()
	return nil
}

func tlsEchoOnce(addr string, conf *tls.Config) (net.Conn, error) {
	c, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "hello\n"); err != nil {
		c.Close()
		return nil, err
	}
	line, err := bufio.NewReaderSize(c, 16).ReadString('\n')
	if err != nil || line != "hello\n" {
		c.Close()
		return nil, fmt.Errorf("echo: %q %v", line, err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

func waitInterrupt() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	<-sig
}

// raiseNoFile lifts the soft descriptor limit to the hard one (the Go
// runtime does so too since Go 1.19; said here, as the idle scenario
// depends on it).
func raiseNoFile() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
