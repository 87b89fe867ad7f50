# Final validation loss against ROM weights on a log axis with the fitted log-linear line
# (the paper's Fig. 6). Data block 0: ROM weights, mean loss, std, d_mem; block 1: every run.
# Set by the caller: gpdir, datafile, outfile, plottitle, fit_a, fit_b, fit_r2 (the report's
# own least-squares fit of mean loss on log10(ROM weights), so plot and text agree).
load gpdir.'/terminal.gp'
set bmargin 7   # room for the legend below the axis label
set title plottitle
set logscale x 10
set format x '%.0s%c'
set xlabel 'ROM weights (table values L·V·m, log scale)'
set ylabel 'final validation loss (nats/token)'
set offsets graph 0.08, graph 0.08, graph 0.1, graph 0.1
f(x) = fit_a + fit_b * log10(x)
plot datafile index 1 using 1:2 with points pt 6 ps 0.8 lc rgb '#888888' title 'single runs (seeds)', \
     datafile index 0 using 1:2:3 with yerrorbars pt 7 ps 1.2 lw 1.5 lc rgb '#1f77b4' title 'mean ± std over seeds', \
     datafile index 0 using 1:2:(sprintf('m=%d', $4)) with labels left offset 1,0.6 tc rgb '#1f77b4' notitle, \
     f(x) with lines lw 2 dt 2 lc rgb '#d62728' title sprintf('fit: %.4f %+.4f log10(ROM), R² = %.3f', fit_a, fit_b, fit_r2)
