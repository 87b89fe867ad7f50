# Validation loss against training compute (6 N D FLOPs) per memory kind: its runs as points,
# its fitted law's compute-optimal frontier (min over N of L(N, C / 6N)) as a line.
# Data: per kind two blocks, runs ("C L") then frontier ("C L"), first line the label.
# Set by the caller: gpdir, datafile, outfile, plottitle, nblocks (kinds).
load gpdir.'/terminal.gp'
set bmargin 6
set title plottitle
set logscale x 10
set format x '1e%L'
set xlabel 'training compute, 6 N D (FLOPs; N = RAM parameters, log scale)'
set ylabel 'final validation loss (nats per token)'
plot for [i=0:nblocks-1] datafile index 2*i using 1:2 with points pt 7 ps 0.8 lc i+1 title columnheader(1), \
     for [i=0:nblocks-1] datafile index 2*i+1 using 1:2 with lines lw 2 lc i+1 title columnheader(1)
