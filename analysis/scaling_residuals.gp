# The fitted law's log residual, log(L / L_fit), of every run against its RAM parameters, per
# memory kind: a pattern in N or a spread well above the seeds' says the law misfits.
# Data: one block per kind ("N residual"), first line the label. Set by the caller: gpdir,
# datafile, outfile, plottitle, nblocks.
load gpdir.'/terminal.gp'
set bmargin 6
set title plottitle
set logscale x 10
set format x '1e%L'
set xlabel 'RAM parameters N (log scale)'
set ylabel 'log(L / fitted L)'
set xzeroaxis lt 1 lc rgb '#888888' lw 1
plot for [i=0:nblocks-1] datafile index i using 1:2 with points pt 7 ps 0.9 lc i+1 title columnheader(1)
