package bench

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// chartSeries is one result set's values per workload.
type chartSeries struct {
	label    string
	thr, lat []float64
}

// Chart geometry, in SVG user units.
const (
	panelW, panelH = 640, 420
	plotLeft       = 70
	plotTop        = 60
	plotW, plotH   = 540, 230
)

// writeChartSVG draws two grouped bar charts side by side: throughput and
// p99 latency per workload, one colour per series, with a legend. It is
// plain SVG written by hand, so the daemon's dependency closure carries no
// plotting library.
func writeChartSVG(b *strings.Builder, names []string, series []chartSeries) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		2*panelW, panelH, 2*panelW, panelH)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	panel(b, 0, "Throughput", "MiB/s", names, series, func(s chartSeries) []float64 { return s.thr })
	panel(b, panelW, "Latency (p99)", "ms", names, series, func(s chartSeries) []float64 { return s.lat })
	b.WriteString("</svg>\n")
}

func panel(b *strings.Builder, x0 int, title, unit string, names []string, series []chartSeries, values func(chartSeries) []float64) {
	top := 0.0
	for _, s := range series {
		for _, v := range values(s) {
			top = math.Max(top, v)
		}
	}
	step := niceStep(top / 5)
	top = step * math.Ceil(top/step)
	if top == 0 {
		top, step = 1, 0.2
	}
	fmt.Fprintf(b, `<g transform="translate(%d,0)">`+"\n", x0)
	fmt.Fprintf(b, `<text x="%d" y="24" font-size="15" text-anchor="middle">%s</text>`+"\n", plotLeft+plotW/2, html.EscapeString(title))
	fmt.Fprintf(b, `<text transform="translate(18,%d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", plotTop+plotH/2, html.EscapeString(unit))
	for v := 0.0; v <= top+step/2; v += step {
		y := float64(plotTop+plotH) - v/top*plotH
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, plotLeft, plotLeft+plotW, y, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", plotLeft-6, y, formatTick(v))
	}
	group := float64(plotW) / float64(len(names))
	bar := group * 0.8 / float64(len(series))
	for j, n := range names {
		gx := float64(plotLeft) + group*float64(j) + group*0.1
		for i, s := range series {
			v := values(s)[j]
			h := v / top * plotH
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %.2f %s</title></rect>`+"\n",
				gx+bar*float64(i), float64(plotTop+plotH)-h, bar, h, plotColor(i), html.EscapeString(s.label), html.EscapeString(n), v, html.EscapeString(unit))
		}
		lx := gx + group*0.4
		fmt.Fprintf(b, `<text transform="translate(%.1f,%d) rotate(-35)" text-anchor="end">%s</text>`+"\n", lx, plotTop+plotH+14, html.EscapeString(n))
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>`+"\n", plotLeft, plotLeft+plotW, plotTop+plotH, plotTop+plotH)
	for i, s := range series {
		y := 40 + 14*i
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			plotLeft+plotW-150, y, plotColor(i), plotLeft+plotW-135, y+9, html.EscapeString(s.label))
	}
	b.WriteString("</g>\n")
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func formatTick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", v)
}
