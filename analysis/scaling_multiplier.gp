# A memory kind's effective dense parameters over its own, at 20 tokens per parameter, with
# the 95% bootstrap band, against N (fitted range and the extrapolation beyond it).
# Data: one block per kind ("N multiplier low high"), first line the label. Set by the
# caller: gpdir, datafile, outfile, plottitle, nblocks.
load gpdir.'/terminal.gp'
set bmargin 6
set title plottitle
set logscale x 10
set format x '1e%L'
set xlabel 'RAM parameters N (log scale; D = 20 N)'
set ylabel 'dense parameters reaching the same loss / N (log scale)'
# log scale, clipped: a band that opens to 10^4 far out would flatten the measured range
set logscale y 10
set yrange [0.1:30]
plot for [i=0:nblocks-1] datafile index i using 1:3:4 with filledcurves fs transparent solid 0.2 lc i+1 notitle, \
     for [i=0:nblocks-1] datafile index i using 1:2 with lines lw 2 lc i+1 title columnheader(1), \
     1 with lines dt 2 lc rgb '#888888' title 'no gain'
