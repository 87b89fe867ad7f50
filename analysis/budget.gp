# MeKi's gain over dense (dense − MeKi final validation loss) against the training budget,
# each budget its own runs; error bars are the 95% interval of the gain (flat: one seed).
# Data: tokens, gain, low, high, n. Set by the caller: gpdir, datafile, outfile, plottitle.
load gpdir.'/terminal.gp'
set bmargin 6   # room for the legend below the axis label
set title plottitle
set logscale x 10
set format x '%.0s%c'
set xlabel 'training tokens (one full cosine schedule per budget, log scale)'
set ylabel 'gain: dense − MeKi val loss (nats)'
set offsets graph 0.08, graph 0.08, graph 0.1, graph 0.1
set xzeroaxis lt 1 lc rgb '#888888' lw 1
plot datafile using 1:2:3:4 with yerrorlines pt 7 ps 1.2 lw 1.5 lc rgb '#1f77b4' title 'gain, mean with 95% interval over seeds', \
     datafile using 1:2:(sprintf('n=%d', $5)) with labels left offset 1,0.6 tc rgb '#1f77b4' notitle
