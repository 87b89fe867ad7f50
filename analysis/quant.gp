# ROM table dtype: bundle perplexity against table size on disk (left) and, when measured,
# decode speed against table size (right). Data: dtype, MiB, ppl mean, std, tok/s mean, std.
# Set by the caller: gpdir, datafile, outfile, plottitle, has_decode.
if (has_decode) plotwidth = 1000
load gpdir.'/terminal.gp'
set datafile missing 'NaN'
set logscale x 2
set xlabel 'ROM table size on disk (MiB, log scale)'
set offsets graph 0.1, graph 0.1, graph 0.15, graph 0.15
set key off
if (has_decode) { set multiplot layout 1, 2 title plottitle; set title 'perplexity' } else { set title plottitle }
set ylabel 'validation perplexity (folded bundle)'
# labels alternate sides, so that dtypes of the same size (f16, bf16) do not overprint
label_right(name) = int($0) % 2 == 0 ? name : ''
label_left(name) = int($0) % 2 == 1 ? name : ''
plot datafile using 2:3:4 with yerrorbars pt 7 ps 1.2 lc rgb '#1f77b4', \
     datafile using 2:3:(label_right(stringcolumn(1))) with labels left offset 1,0.6 notitle, \
     datafile using 2:3:(label_left(stringcolumn(1))) with labels right offset -1,-0.6 notitle
if (has_decode) {
    set title 'decode speed'
    set ylabel 'decode speed (tokens/s)'
    plot datafile using 2:5:6 with yerrorbars pt 7 ps 1.2 lc rgb '#ff7f0e', \
         datafile using 2:5:(label_right(stringcolumn(1))) with labels left offset 1,0.6 notitle, \
         datafile using 2:5:(label_left(stringcolumn(1))) with labels right offset -1,-0.6 notitle
    unset multiplot
}
