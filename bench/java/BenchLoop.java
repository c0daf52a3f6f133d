import hex.genmodel.MojoModel;
import hex.genmodel.easy.EasyPredictModelWrapper;
import hex.genmodel.easy.RowData;
import hex.genmodel.easy.prediction.AbstractPrediction;
import hex.genmodel.easy.prediction.BinomialModelPrediction;
import hex.genmodel.easy.prediction.MultinomialModelPrediction;
import hex.genmodel.easy.prediction.RegressionModelPrediction;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
 * <p>Usage: {@code BenchLoop <model.zip> <rows.csv> <threads> <sizes,comma> <repeats>
 * <warmupRows>}. The CSV has a header of feature names and plain fields (empty
 * means missing, no quoting). Rows are turned into {@link RowData} before any
 * timing: the figures cover scoring only. Prints one JSON object on stdout.
 */
public final class BenchLoop {
    private static final int MAX_SMALL_SAMPLES = 2000;
    private static final int SMALL_SAMPLE_ROW_BUDGET = 200_000;

    private BenchLoop() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println(
                "usage: BenchLoop <model.zip> <rows.csv> <threads> <sizes> <repeats> <warmupRows>");
            System.exit(2);
        }
        MojoModel model = MojoModel.load(args[0]);
        int threads = Integer.parseInt(args[2]);
        int[] sizes = Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray();
        int repeats = Integer.parseInt(args[4]);
        int warmupRows = Integer.parseInt(args[5]);

        long loadStart = System.nanoTime();
        RowData[] rows = readRows(model, args[1]);
        double prepareSeconds = (System.nanoTime() - loadStart) / 1e9;

        EasyPredictModelWrapper[] wrappers = new EasyPredictModelWrapper[threads];
        for (int t = 0; t < threads; t++) {
            wrappers[t] = newWrapper(model);
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            double sink = scoreSpan(pool, wrappers, rows, Math.min(warmupRows, rows.length));
            StringBuilder json = new StringBuilder();
            json.append("{\"threads\":").append(threads)
                .append(",\"rows_available\":").append(rows.length)
                .append(",\"prepare_seconds\":").append(prepareSeconds)
                .append(",\"java_version\":\"").append(System.getProperty("java.version"))
                .append("\",\"model_category\":\"").append(model.getModelCategory())
                .append("\",\"sizes\":{");
            boolean first = true;
            for (int size : sizes) {
                if (size > rows.length || size < threads) {
                    continue;
                }
                int samples = sampleCount(size, repeats);
                double[] seconds = new double[samples];
                for (int s = 0; s < samples; s++) {
                    long start = System.nanoTime();
                    sink += scoreSpan(pool, wrappers, rows, size);
                    seconds[s] = (System.nanoTime() - start) / 1e9;
                }
                Arrays.sort(seconds);
                json.append(first ? "" : ",").append('"').append(size).append("\":{")
                    .append("\"samples\":").append(samples)
                    .append(",\"median_s\":").append(percentile(seconds, 0.50))
                    .append(",\"p99_s\":").append(percentile(seconds, 0.99))
                    .append(",\"min_s\":").append(seconds[0])
                    .append('}');
                first = false;
            }
            json.append("},\"checksum\":").append(sink).append('}');
            System.out.println(json);
        } finally {
            pool.shutdownNow();
        }
    }

    private static EasyPredictModelWrapper newWrapper(MojoModel model) {
        return new EasyPredictModelWrapper(new EasyPredictModelWrapper.Config()
            .setModel(model)
            .setConvertUnknownCategoricalLevelsToNa(true)
            .setConvertInvalidNumbersToNa(true));
    }

    /** Small batches are timed many times, large ones {@code repeats} times. */
    private static int sampleCount(int size, int repeats) {
        int bySize = SMALL_SAMPLE_ROW_BUDGET / size;
        return Math.max(repeats, Math.min(MAX_SMALL_SAMPLES, bySize));
    }

    private static double percentile(double[] sorted, double q) {
        int index = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    /** Scores rows [0, count) split evenly over the wrappers; returns a checksum. */
    private static double scoreSpan(
            ExecutorService pool, EasyPredictModelWrapper[] wrappers, RowData[] rows, int count)
            throws Exception {
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
