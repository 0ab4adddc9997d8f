package completion

import "testing"

// The per-descriptor table: state is found where it was left, a
// descriptor never used has none (and costs no page), and a state's
// address survives the table's growth (callers hold it across calls
// that may add descriptors).
func TestFDTable(t *testing.T) {
	var tab fdTable[uringFD]
	first := tab.at(3)
	first.rd = 7
	cases := []struct {
		name   string
		fd     int
		want   uint32 // rd; ignored when absent
		absent bool
	}{
		{"negative-has-none", -1, 0, true},
		{"never-used-page-has-none", 5 * fdPage, 0, true},
		{"beyond-the-index-has-none", 1 << 20, 0, true},
		{"used-is-found", 3, 7, false},
		{"same-page-unused-is-zero", 4, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tab.find(tc.fd)
			switch {
			case tc.absent && st != nil:
				t.Fatalf("find(%d) = %+v, want none", tc.fd, *st)
			case !tc.absent && (st == nil || st.rd != tc.want):
				t.Fatalf("find(%d) = %v, want rd %d", tc.fd, st, tc.want)
			}
		})
	}
	tab.at(100 * fdPage) // grows the index
	if tab.at(3) != first || first.rd != 7 {
		t.Fatalf("fd 3's state moved or changed when the table grew")
	}
	pages := 0
	for _, pg := range tab.pages {
		if pg != nil {
			pages++
		}
	}
	if pages != 2 {
		t.Fatalf("%d pages allocated for descriptors in 2 pages", pages)
	}
}
