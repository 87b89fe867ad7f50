# Decode parity (issue 24): folded MeKi's decode speed over its dense twin's, paired and
# interleaved in one benchmark, against the model preset (smallest first), one line per
# RAM weights dtype and table dtype measured; the goal (0.98) and parity (1) as lines.
# Data: scale, then mean and std for each combination (parity_figures' positions 0..6).
# Set by the caller: gpdir, datafile, outfile, plottitle, columns (data columns present).
load gpdir.'/terminal.gp'
set title plottitle
set datafile missing 'NaN'
set ylabel 'folded / dense decode speed'
set xlabel 'model preset'
set key outside bottom center horizontal
set bmargin 7
set offsets 0.3, 0.3, graph 0.1, graph 0.1
set xtics nomirror
combo(c) = c == 2 ? 'weights f32, table f32' : c == 4 ? 'weights bf16, table f32' : \
           c == 6 ? 'weights q8_0, table f32' : c == 8 ? 'weights f32, table f16' : \
           c == 10 ? 'weights f32, table bf16' : c == 12 ? 'weights f32, table q8_0' : 'weights f32, table q4_0'
plot for [i=1:words(columns)] datafile using 0:int(word(columns, i)):int(word(columns, i))+1:xtic(1) \
         with yerrorlines pt 7 lw 2 title combo(int(word(columns, i))), \
     0.98 with lines dt 2 lc rgb '#d62728' title 'goal 0.98', \
     1.0 with lines dt 3 lc rgb '#7f7f7f' title 'parity'
