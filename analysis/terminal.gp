# The look shared by every plot (loaded by the other scripts): a PNG (or with vector=1 an
# SVG) of a size fit for a paper, text taken literally (variant names have underscores), a light grid.
# Set by the caller with -e: outfile, plottitle; optional plotwidth, plotheight.
if (!exists('plotwidth')) plotwidth = 800
if (!exists('plotheight')) plotheight = 500
# vector=1 (set by the caller on a second run): the same figure as SVG, for papers
if (!exists('vector')) vector = 0
if (vector) {
    set terminal svg size plotwidth, plotheight noenhanced font 'DejaVu Sans,11' linewidth 1.5 background rgb 'white'
} else {
    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
        set terminal pngcairo size plotwidth, plotheight noenhanced font 'DejaVu Sans,11' linewidth 1.5
    } else {
        set terminal png size plotwidth, plotheight noenhanced
    }
}
set output outfile
set grid lc rgb '#dddddd' lt 1
# Legends go below the plot by default (inside, they end up hiding some point or bar);
# gnuplot leaves them too little room under the axis label, so each script that keeps
# this default sets its bottom margin.
set key noenhanced below box width 1
set border lw 1
# A tick step giving about five ticks over a span: 1, 2 or 5 times a power of ten; 1 for an
# empty span (runs with one validation point each: log10(0) would stop the plot).
nice_step(span) = span <= 0 ? 1 : (span / 5.0) / 10**floor(log10(span / 5.0)) < 2 ? 2 * 10**floor(log10(span / 5.0)) : \
                  (span / 5.0) / 10**floor(log10(span / 5.0)) < 5 ? 5 * 10**floor(log10(span / 5.0)) : \
                  10 * 10**floor(log10(span / 5.0))
