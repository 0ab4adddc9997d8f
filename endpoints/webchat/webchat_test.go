package webchat

import (
	"bytes"
	"regexp"
	"testing"
)

// The page is the whole of what a browser gets: it must name its
// WebSocket path, fetch nothing from elsewhere, carry the ids the tests
// drive, and never put peer text in as HTML.
func TestPageIsSelfContained(t *testing.T) {
	if n := len(Page); n == 0 || n > 12<<10 {
		t.Fatalf("page is %d bytes; want 1..12KiB", n)
	}
	if !bytes.Contains(Page, []byte(`<meta name="pxroute-ws" content="`+WSPath+`">`)) {
		t.Errorf("page does not name its WebSocket path %s in <meta name=\"pxroute-ws\">", WSPath)
	}
	for _, id := range []string{"nick", "join", "msg", "send", "log", "status"} {
		if !bytes.Contains(Page, []byte(`id="`+id+`"`)) {
			t.Errorf("page has no element id=%q", id)
		}
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)\b(src|href)\s*=`),                                   // no fetched script, style, image or link
		regexp.MustCompile(`(?i)@import|url\(`),                                      // nor from CSS
		regexp.MustCompile(`(?i)https?://`),                                          // nor any other address
		regexp.MustCompile(`\.(inner|outer)HTML|insertAdjacentHTML|document\.write`), // text stays text
	} {
		if m := bad.Find(Page); m != nil {
			t.Errorf("page contains %q", m)
		}
	}
}
