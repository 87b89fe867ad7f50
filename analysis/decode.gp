# Decode speed per variant as bars with the seed std: the dense twin, folded MeKi (one row
# read per layer) and unfolded MeKi (projector run at every step), measured in one process.
# Data: label, then mean and std of each (NaN: not measured).
# Set by the caller: gpdir, datafile, outfile, plottitle.
load gpdir.'/terminal.gp'
set title plottitle
set datafile missing 'NaN'
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.75 border -1
set boxwidth 0.9
set ylabel 'decode speed (tokens/s)'
set yrange [0:*]
set xtics rotate by -20 nomirror
set key top right
plot datafile using 2:3:xtic(1) lc rgb '#7f7f7f' title 'dense twin', \
     '' using 4:5 lc rgb '#1f77b4' title 'MeKi folded', \
     '' using 6:7 lc rgb '#ff7f0e' title 'MeKi unfolded'
