package bench

import "fmt"

// plotColor gives result set i a distinct, colour-blind-friendly colour
// (an SVG fill value).
func plotColor(i int) string {
	palette := [][3]uint8{{0, 114, 178}, {230, 159, 0}, {0, 158, 115}, {204, 121, 167}, {86, 180, 233}}
	c := palette[i%len(palette)]
	return fmt.Sprintf("rgb(%d,%d,%d)", c[0], c[1], c[2])
}
