import hex.genmodel.MojoModel;
import hex.genmodel.easy.EasyPredictModelWrapper;
import hex.genmodel.easy.RowData;
import hex.genmodel.easy.prediction.AbstractPrediction;
import hex.genmodel.easy.prediction.BinomialModelPrediction;
import hex.genmodel.easy.prediction.MultinomialModelPrediction;
import hex.genmodel.easy.prediction.RegressionModelPrediction;

import java.io.BufferedReader;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The physical limit of scoring one MOJO: a plain Java loop over prepared rows.
 *
 * <p>Usage: {@code BenchLoop <model.zip> <rows.csv> <threads> <sizes,comma> <minSamples>
 * <warmupRows> <secondsPerSize>}. The CSV has a header of feature names and plain fields
 * (empty means missing, no quoting). Rows are turned into {@link RowData} before any
 * timing: the figures cover scoring only. Prints one JSON object on stdout.
 *
 * <p>After one warm-up over {@code warmupRows} rows, each size is first scored untimed for a
 * quarter of its budget, so that the JIT and the young generation have settled on that size,
 * then timed for {@code secondsPerSize} and at least {@code minSamples} times. On Linux the
 * run-queue wait of the JVM's threads tells whether other work took the CPU during that
 * window; a disturbed window is timed again, and the least disturbed one is reported.
 */
public final class BenchLoop {
    // bounds the sample array of the smallest sizes (about a microsecond each)
    private static final int MAX_SAMPLES = 1_000_000;
    private static final int MIN_WARMUP_RUNS = 3;
    private static final int WARMUP_SHARE_OF_BUDGET = 4;
    // a window whose threads waited for a CPU this share of its wall time is redone
    private static final double MAX_WAIT_SHARE = 0.05;
    private static final int MAX_WINDOWS = 3;

    private BenchLoop() {
    }

    /** What one size is scored with. */
    private record Loop(ExecutorService pool, EasyPredictModelWrapper[] wrappers, RowData[] rows) {
    }

    /** The sorted samples of one timed window, the share it waited for a CPU, a checksum. */
    private record Window(double[] sorted, double waitShare, double checksum) {
    }

    /** The least disturbed window of one size, after so many untimed runs and windows. */
    private record Timing(int warmupRuns, int windows, Window best, double checksum) {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 7) {
            System.err.println("usage: BenchLoop <model.zip> <rows.csv> <threads> <sizes> "
                + "<minSamples> <warmupRows> <secondsPerSize>");
            System.exit(2);
        }
        MojoModel model = MojoModel.load(args[0]);
        int threads = Integer.parseInt(args[2]);
        int[] sizes = Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray();
        int minSamples = Integer.parseInt(args[4]);
        int warmupRows = Integer.parseInt(args[5]);
        double secondsPerSize = Double.parseDouble(args[6]);

        long loadStart = System.nanoTime();
        RowData[] rows = readRows(model, args[1]);
        double prepareSeconds = (System.nanoTime() - loadStart) / 1e9;

        EasyPredictModelWrapper[] wrappers = new EasyPredictModelWrapper[threads];
        for (int t = 0; t < threads; t++) {
            wrappers[t] = newWrapper(model);
        }
        Loop loop = new Loop(Executors.newFixedThreadPool(threads), wrappers, rows);
        try {
            double sink = scoreSpan(loop, Math.min(warmupRows, rows.length));
            StringBuilder json = new StringBuilder();
            json.append("{\"threads\":").append(threads)
                .append(",\"rows_available\":").append(rows.length)
                .append(",\"prepare_seconds\":").append(prepareSeconds)
                .append(",\"seconds_per_size\":").append(secondsPerSize)
                .append(",\"max_wait_share\":").append(MAX_WAIT_SHARE)
                .append(",\"java_version\":\"").append(System.getProperty("java.version"))
                .append("\",\"jvm_args\":\"").append(jsonEscaped(String.join(" ", jvmArgs())))
                .append("\",\"model_category\":\"").append(model.getModelCategory())
                .append("\",\"sizes\":{");
            boolean first = true;
            long budgetNanos = (long) (secondsPerSize * 1e9);
            for (int size : sizes) {
                if (size > rows.length || size < threads) {
                    continue;
                }
                Timing timing = timeSize(loop, size, minSamples, budgetNanos);
                sink += timing.checksum();
                double[] seconds = timing.best().sorted();
                json.append(first ? "" : ",").append('"').append(size).append("\":{")
                    .append("\"samples\":").append(seconds.length)
                    .append(",\"warmup_runs\":").append(timing.warmupRuns())
                    .append(",\"windows\":").append(timing.windows())
                    .append(",\"median_s\":").append(percentile(seconds, 0.50))
                    .append(",\"p99_s\":").append(percentile(seconds, 0.99))
                    .append(",\"min_s\":").append(seconds[0])
                    .append(",\"cpu_wait_share\":").append(timing.best().waitShare())
                    .append('}');
                first = false;
            }
            json.append("},\"checksum\":").append(sink).append('}');
            System.out.println(json);
        } finally {
            loop.pool().shutdownNow();
        }
    }

    /** Warms one size up untimed, then times windows until one is undisturbed. */
    private static Timing timeSize(Loop loop, int size, int minSamples, long budgetNanos)
            throws Exception {
        double sink = 0;
        int warmupRuns = 0;
        long warmupEnd = System.nanoTime() + budgetNanos / WARMUP_SHARE_OF_BUDGET;
        while (warmupRuns < MIN_WARMUP_RUNS || System.nanoTime() < warmupEnd) {
            sink += scoreSpan(loop, size);
            warmupRuns++;
        }
        Window best = null;
        int windows = 0;
        while (windows < MAX_WINDOWS && (best == null || best.waitShare() > MAX_WAIT_SHARE)) {
            Window window = timeWindow(loop, size, minSamples, budgetNanos);
            sink += window.checksum();
            windows++;
            if (best == null || window.waitShare() < best.waitShare()) {
                best = window;
            }
        }
        return new Timing(warmupRuns, windows, best, sink);
    }

    /** Times one size for the budget's wall time and at least minSamples times. */
    private static Window timeWindow(Loop loop, int size, int minSamples, long budgetNanos)
            throws Exception {
        double sink = 0;
        double[] seconds = new double[Math.max(minSamples, 64)];
        int count = 0;
        long waitStart = runQueueWaitNanos();
        long windowStart = System.nanoTime();
        long end = windowStart + budgetNanos;
        while ((count < minSamples || System.nanoTime() < end) && count < MAX_SAMPLES) {
            long start = System.nanoTime();
            sink += scoreSpan(loop, size);
            long elapsed = System.nanoTime() - start;
            if (count == seconds.length) {
                seconds = Arrays.copyOf(seconds, 2 * count);
            }
            seconds[count++] = elapsed / 1e9;
        }
        double threadNanos = (double) (System.nanoTime() - windowStart) * loop.wrappers().length;
        long waitEnd = runQueueWaitNanos();
        double waitShare = waitStart < 0 || waitEnd < 0 ? 0 : (waitEnd - waitStart) / threadNanos;
        double[] sorted = Arrays.copyOf(seconds, count);
        Arrays.sort(sorted);
        return new Window(sorted, waitShare, sink);
    }

    /**
     * Nanoseconds the JVM's threads have been runnable but waiting for a CPU, summed over
     * Linux's {@code /proc/self/task/<tid>/schedstat}; -1 where there is no such file.
     */
    private static long runQueueWaitNanos() throws IOException {
        long sum = 0;
        int read = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Paths.get("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    String[] fields = Files.readString(task.resolve("schedstat")).trim().split(" ");
                    sum += Long.parseLong(fields[1]);
                    read++;
                } catch (NoSuchFileException ended) {
                    // a thread that ended since the listing, or a kernel without schedstat
                }
            }
        } catch (NoSuchFileException notLinux) {
            return -1;
        }
        return read == 0 ? -1 : sum;
    }

    private static List<String> jvmArgs() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments();
    }

    private static String jsonEscaped(String text) {
        return text.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    private static double percentile(double[] sorted, double q) {
        int index = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static EasyPredictModelWrapper newWrapper(MojoModel model) {
        return new EasyPredictModelWrapper(new EasyPredictModelWrapper.Config()
            .setModel(model)
            .setConvertUnknownCategoricalLevelsToNa(true)
            .setConvertInvalidNumbersToNa(true));
    }

    /** Scores rows [0, count) split evenly over the wrappers; returns a checksum. */
    private static double scoreSpan(Loop loop, int count) throws Exception {
        ExecutorService pool = loop.pool();
        EasyPredictModelWrapper[] wrappers = loop.wrappers();
        RowData[] rows = loop.rows();
        if (wrappers.length == 1) {
            return scoreRange(wrappers[0], rows, 0, count);
        }
        List<Future<Double>> parts = new ArrayList<>();
        int chunk = (count + wrappers.length - 1) / wrappers.length;
        for (int t = 0; t < wrappers.length; t++) {
            final int from = t * chunk;
            final int to = Math.min(count, from + chunk);
            final EasyPredictModelWrapper wrapper = wrappers[t];
            parts.add(pool.submit(() -> scoreRange(wrapper, rows, from, to)));
        }
        double sum = 0;
        for (Future<Double> part : parts) {
            sum += part.get();
        }
        return sum;
    }

    private static double scoreRange(EasyPredictModelWrapper wrapper, RowData[] rows, int from, int to)
            throws Exception {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += firstOutput(wrapper.predict(rows[i]));
        }
        return sum;
    }

    private static double firstOutput(AbstractPrediction prediction) {
        if (prediction instanceof BinomialModelPrediction binomial) {
            return binomial.classProbabilities[0];
        }
        if (prediction instanceof MultinomialModelPrediction multinomial) {
            return multinomial.classProbabilities[0];
        }
        if (prediction instanceof RegressionModelPrediction regression) {
            return regression.value;
        }
        throw new IllegalStateException("unsupported prediction " + prediction.getClass());
    }

    private static RowData[] readRows(MojoModel model, String csvPath) throws IOException {
        Map<String, Boolean> isCategorical = new HashMap<>();
        String[] names = model.getNames();
        for (int i = 0; i < model.nfeatures(); i++) {
            isCategorical.put(names[i], model.getDomainValues(i) != null);
        }
        List<RowData> rows = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(Paths.get(csvPath), StandardCharsets.UTF_8)) {
            String[] header = reader.readLine().split(",", -1);
            String line;
            while ((line = reader.readLine()) != null) {
                String[] fields = line.split(",", -1);
                RowData row = new RowData();
                for (int c = 0; c < header.length; c++) {
                    if (fields[c].isEmpty()) {
                        continue;
                    }
                    boolean categorical = isCategorical.getOrDefault(header[c], false);
                    row.put(header[c], categorical ? fields[c] : Double.valueOf(fields[c]));
                }
                rows.add(row);
            }
        }
        return rows.toArray(new RowData[0]);
    }
}
