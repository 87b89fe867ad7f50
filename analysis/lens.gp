# Logit lens (the paper's Fig. 7): per layer, the KL divergence between the final head
# applied to that layer's output and the model's final distribution; dense vs MeKi.
# Data: layer, dense mean, std, MeKi mean, std. Set by the caller: gpdir, datafile, outfile, plottitle.
load gpdir.'/terminal.gp'
set bmargin 5   # room for the legend below the axis label
set title plottitle
set xlabel 'layer (0 = first)'
set ylabel 'KL (nats/token; direction as the reading says)'
set xtics 1
stats datafile using 1 nooutput
set xrange [STATS_min - 0.4 : STATS_max + 0.4]
set offsets 0, 0, graph 0.05, 0
set yrange [0:*]
plot datafile using 1:2:3 with yerrorlines lw 2 pt 7 lc rgb '#7f7f7f' title 'dense', \
     datafile using 1:4:5 with yerrorlines lw 2 pt 5 lc rgb '#1f77b4' title 'MeKi'
