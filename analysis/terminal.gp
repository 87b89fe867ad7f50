# The look shared by every plot (loaded by the other scripts): a PNG of a size fit for a
# paper, text taken literally (variant names have underscores), a light grid.
# Set by the caller with -e: outfile, plottitle; optional plotwidth, plotheight.
if (!exists('plotwidth')) plotwidth = 800
if (!exists('plotheight')) plotheight = 500
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
    set terminal pngcairo size plotwidth, plotheight noenhanced font 'DejaVu Sans,11' linewidth 1.5
} else {
    set terminal png size plotwidth, plotheight noenhanced
}
set output outfile
set grid lc rgb '#dddddd' lt 1
set key noenhanced opaque box width 1 height 0.5
set border lw 1
