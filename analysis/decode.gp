# Decode speed per variant as bars with the seed std: the dense twin, folded MeKi (one row
# read per layer) and unfolded MeKi (projector run at every step), measured in one process.
# Data: label, then mean and std of each (NaN: not measured).
# Set by the caller: gpdir, datafile, outfile, plottitle, has_dense, has_folded, has_unfolded
# (series never measured are left out, so the bars of each variant stay centred on it).
load gpdir.'/terminal.gp'
set bmargin 6   # room for the legend below the axis label
set title plottitle
set datafile missing 'NaN'
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.75 border -1
set ylabel 'decode speed (tokens/s)'
columns = (has_dense ? '2 ' : '') . (has_folded ? '4 ' : '') . (has_unfolded ? '6' : '')
# Scales spanning more than 5x (tiny to medium) get a log axis, or the slow bars are flat lines.
stats datafile using int(word(columns, 1)) nooutput
if (STATS_min > 0 && STATS_max / STATS_min > 5) {
    set logscale y
    set ylabel 'decode speed (tokens/s, log scale)'
    set yrange [10**floor(log10(STATS_min / 2)):10**ceil(log10(STATS_max * 1.5))]
} else {
    set yrange [0:*]
    set offsets 0, 0, graph 0.08, 0   # headroom above the tallest bar and its error bar
}
set xtics rotate by -20 nomirror
name(c) = c == 2 ? 'dense twin' : c == 4 ? 'MeKi folded' : 'MeKi unfolded'
colour(c) = c == 2 ? '#7f7f7f' : c == 4 ? '#1f77b4' : '#ff7f0e'
plot for [i=1:words(columns)] datafile using int(word(columns, i)):int(word(columns, i))+1:xtic(1) \
     lc rgb colour(int(word(columns, i))) title name(int(word(columns, i)))
