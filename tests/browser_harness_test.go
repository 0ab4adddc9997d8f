package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserTimeout bounds a whole browser session: Chromium's start, every
// page in it and its exit. Each wait inside is bounded by ioTimeout.
const browserTimeout = 2 * time.Minute

// chromiumPaths are where Debian (bench/setup.sh: apt-get install
// chromium) and other systems put the browser, in order.
var chromiumPaths = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}

// findChromium returns the browser's path, failing (never skipping) the
// test when there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, p := range chromiumPaths {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatalf("no Chromium (looked for %v): run bench/setup.sh (apt-get install chromium)", chromiumPaths)
	return ""
}

// browser is one headless Chromium; each page is a tab of it.
type browser struct {
	ctx context.Context // the first tab's: it owns the browser process
}

// startBrowser starts headless Chromium, closed when the test ends or
// browserTimeout passes, whichever is first.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findChromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 640),
		chromedp.Flag("disable-gpu", true),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start as root with its sandbox on; the
		// pages it loads here are our own, from 127.0.0.1.
		opts = append(opts, chromedp.NoSandbox)
	}
	bounded, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(bounded, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc(); cancelTimeout() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &browser{ctx: ctx}
}

// chatPage is one tab showing the web chat page.
type chatPage struct {
	name    string // for messages: which page failed
	ctx     context.Context
	console *lockedBuffer // the page's console and uncaught exceptions
}

// open loads url in a new tab.
func (b *browser) open(t *testing.T, name, url string) *chatPage {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	p := &chatPage{name: name, ctx: ctx, console: &lockedBuffer{}}
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("%s: new tab: %v", name, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			fmt.Fprintf(p.console, "%s: %s\n", m.Type, m.Text)
		}
	}()
	p.do(t, "load "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.ID("log")))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s: console:\n%s", name, p.console)
		}
	})
	return p
}

// do runs steps within ioTimeout.
func (p *chatPage) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ioTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// eval evaluates a JavaScript expression into a T within ioTimeout.
func eval[T any](t *testing.T, p *chatPage, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ioTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: evaluate %s: %v", p.name, expr, err)
	}
	return v
}

// join types the nickname, presses Join and waits until connected.
func (p *chatPage) join(t *testing.T, nick string) {
	t.Helper()
	p.do(t, "join as "+nick,
		chromedp.SendKeys(chromedp.ID("nick"), nick),
		chromedp.Click(chromedp.ID("join")))
	p.waitStatus(t, "connected as "+nick)
}

// say types a message and presses Send; the page shows it at once.
func (p *chatPage) say(t *testing.T, text string) {
	t.Helper()
	p.do(t, "say "+text,
		chromedp.SendKeys(chromedp.ID("msg"), text),
		chromedp.Click(chromedp.ID("send")))
}

// reload reloads the page, which rejoins under the same nickname.
func (p *chatPage) reload(t *testing.T) {
	t.Helper()
	p.do(t, "reload", chromedp.Reload(), chromedp.WaitReady(chromedp.ID("log")))
}

// lines is the text of every line in #log, in order.
func (p *chatPage) lines(t *testing.T) []string {
	t.Helper()
	return eval[[]string](t, p, `Array.from(document.querySelectorAll("#log li"), li => li.textContent)`)
}

// status is #status's text.
func (p *chatPage) status(t *testing.T) string {
	t.Helper()
	return eval[string](t, p, `document.getElementById("status").textContent`)
}

// waitLines waits until #log holds each of want (in any order, among
// others), failing after ioTimeout with what it holds.
func (p *chatPage) waitLines(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		got := p.lines(t)
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool { return slices.Contains(got, w) })
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: #log lacks %q; it holds %q (status %q)", p.name, missing, got, p.status(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCount waits until #log holds line exactly n times.
func (p *chatPage) waitCount(t *testing.T, line string, n int) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		got := p.lines(t)
		c := 0
		for _, l := range got {
			if l == line {
				c++
			}
		}
		if c == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: #log holds %q %d times, want %d; it holds %q (status %q)", p.name, line, c, n, got, p.status(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStatus waits until #status starts with prefix.
func (p *chatPage) waitStatus(t *testing.T, prefix string) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		s := p.status(t)
		if strings.HasPrefix(s, prefix) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: #status is %q, want %q...", p.name, s, prefix)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noExceptions fails the test if the page threw an uncaught exception.
func (p *chatPage) noExceptions(t *testing.T) {
	t.Helper()
	if c := p.console.String(); strings.Contains(c, string(chromedp.ConsoleException)+":") {
		t.Errorf("%s: the page threw:\n%s", p.name, c)
	}
}

// screenshot writes the tab's viewport as a PNG into the test's artefact
// directory (kept with go test -artifacts) and logs its path.
func (p *chatPage) screenshot(t *testing.T, file string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ioTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("%s: screenshot is not a PNG (%d bytes)", p.name, len(png))
	}
	path := filepath.Join(t.ArtifactDir(), file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: screenshot %s (%d bytes)", p.name, path, len(png))
	return path
}
