# Validation-loss curves, one per variant (mean over seeds), as in the paper's Fig. 5.
# Left: the whole run; right: the second half, where variants separate, with the seed
# spread (mean ± std) as a band; the legend to the right of both, so it hides no curve. Data: blocks of "tokens mean std" each headed by its label.
# Set by the caller: gpdir, datafile, outfile, plottitle, nblocks, dashes (a dash type per
# block: 2 for dense baselines, 1 otherwise).
plotwidth = 1100
load gpdir.'/terminal.gp'
stats datafile using 1 nooutput
tokscale = STATS_max >= 2e6 ? 1e6 : 1e3   # axis in thousands or millions of tokens
last = STATS_max / tokscale
set multiplot layout 1, 2 title plottitle
set xlabel sprintf('training tokens (%s)', tokscale == 1e6 ? 'millions' : 'thousands')
set ylabel 'validation loss (nats/token)'
set key off
set title 'whole run'
set xtics nice_step(last)
set autoscale xfix   # no stretch of the axis to the next tick
set lmargin at screen 0.07
set rmargin at screen 0.39
plot for [i=0:nblocks-1] datafile index i using ($1 / tokscale):2 with lines lw 2 lc i+1 dt int(word(dashes, i+1)) title columnheader(1)
set title 'second half of training (band: ± std over seeds)'
set xrange [last / 2 : last * 1.02]
set xtics nice_step(last / 2)
set lmargin at screen 0.47
set rmargin at screen 0.79
set key at screen 0.81, graph 1 left top vertical Left reverse box
plot for [i=0:nblocks-1] datafile index i using ($1 / tokscale):($2-$3):($2+$3) with filledcurves fs transparent solid 0.15 noborder lc i+1 notitle, \
     for [i=0:nblocks-1] datafile index i using ($1 / tokscale):2 with linespoints lw 2 pt 7 ps 0.5 lc i+1 dt int(word(dashes, i+1)) title columnheader(1)
unset multiplot
