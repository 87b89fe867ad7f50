# Validation-loss curves, one per variant (mean over seeds), as in the paper's Fig. 5.
# Left: the whole run; right: the second half, where variants separate, with the seed
# spread (mean ± std) as error bars (a filled band breaks up where the axis cuts it);
# the legend to the right of both, so it hides no curve. Data: blocks of "tokens mean std" each headed by its label.
# Set by the caller: gpdir, datafile, outfile, plottitle, nblocks, dashes (a dash type per
# block: 2 for dense baselines, 1 otherwise).
plotwidth = 1100
load gpdir.'/terminal.gp'
stats datafile using 1 nooutput
tokscale = STATS_max >= 2e6 ? 1e6 : 1e3   # axis in thousands or millions of tokens
first = STATS_min / tokscale
last = STATS_max / tokscale
set multiplot layout 1, 2 title plottitle
set xlabel sprintf('training tokens (%s)', tokscale == 1e6 ? 'millions' : 'thousands')
set ylabel 'validation loss (nats/token)'
set key off
set title 'whole run'
set xtics nice_step(last - first)
set autoscale xfix   # no stretch of the axis to the next tick
set lmargin at screen 0.06
set rmargin at screen 0.36
plot for [i=0:nblocks-1] datafile index i using ($1 / tokscale):2 with lines lw 2 lc i+1 dt int(word(dashes, i+1)) title columnheader(1)
set title 'second half of training (bars: ± std over seeds)'
set xrange [last / 2 : last * 1.02]
set xtics nice_step(last / 2)
set lmargin at screen 0.44
set rmargin at screen 0.74
set key at screen 0.76, graph 1 left top vertical Left reverse box
# points before the zoom are dropped (x and y NaN), not just clipped, so that the y axis
# fits the rest (error bars would otherwise stretch it to the clipped points)
zoom(x) = x / tokscale >= last / 2 ? x / tokscale : NaN
inzoom(x, y) = x / tokscale >= last / 2 ? y : NaN
plot for [i=0:nblocks-1] datafile index i using (zoom($1)):(inzoom($1, $2)):3 with yerrorbars lw 1 pt 7 ps 0.5 lc i+1 notitle, \
     for [i=0:nblocks-1] datafile index i using (zoom($1)):2 with lines lw 2 lc i+1 dt int(word(dashes, i+1)) title columnheader(1)
unset multiplot
