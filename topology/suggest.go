package topology

import (
	"fmt"
	"strings"
)

// didYouMean is " (did you mean "x"?)" for the candidate nearest to s, or
// "" when none is near: at most 2 edits away (1 for words of four letters
// or fewer, where 2 would match too much; a swap of neighbours is one
// edit), or one a prefix of the other (len ≥ 3), so that "length" finds
// "length-prefix".
func didYouMean(s string, candidates []string) string {
	if len(s) > maxSuggestLen {
		return ""
	}
	best, bestDist := "", 3
	for _, c := range candidates {
		if c == s {
			return ""
		}
		if len(c) > len(s)+2 || len(s) > len(c)+2 {
			continue // at least 3 edits apart
		}
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		near := d <= 1 || d == 2 && min(len(s), len(c)) > 4
		if near && d < len(s) && d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" && len(s) >= 3 {
		for _, c := range candidates {
			if strings.HasPrefix(c, s) || strings.HasPrefix(s, c) && len(c) >= 3 {
				best = c
				break
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// maxSuggestLen bounds the work: nobody mistypes a 65-byte name into another.
const maxSuggestLen = 64

// editDistance is the optimal string alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
