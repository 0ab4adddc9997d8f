package main

import (
	"io"
	"net"
	"os"
	"os/signal"
)

// runHelper serves one helper role until interrupted: the Go baselines run
// as processes of their own.
//
//	echo ADDR          a goroutine-per-connection echo server (io.Copy)
//	relay ADDR TARGET  a goroutine-per-connection relay (io.Copy both ways)
//	sendfile FILE ADDR copy FILE to ADDR with io.Copy (sendfile(2)), then exit
func runHelper(role string, args []string) error {
	switch role {
	case "echo", "relay":
		ln, err := net.Listen("tcp", args[0])
		if err != nil {
			return err
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				if role == "echo" {
					go func() { defer c.Close(); io.Copy(c, c) }()
					continue
				}
				go func() {
					defer c.Close()
					up, err := net.Dial("tcp", args[1])
					if err != nil {
						return
					}
					defer up.Close()
					go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
					io.Copy(c, up)
				}()
			}
		}()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		<-sig
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
