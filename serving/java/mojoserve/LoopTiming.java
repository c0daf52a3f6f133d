package mojoserve;

import hex.genmodel.GenModel;
import hex.genmodel.MojoModel;
import hex.genmodel.easy.EasyPredictModelWrapper;
import hex.genmodel.easy.RowData;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The reference point for the runtime's speed: a plain Java loop of {@link
 * EasyPredictModelWrapper#predict} over rows that are already {@link RowData}, nothing else.
 *
 * <p>Usage: {@code java -cp genmodel.jar:classes mojoserve.LoopTiming model.zip rows.csv
 * [repeats]}. Prints the best wall and CPU time of the loop over all rows, per row.
 */
public final class LoopTiming {
  private LoopTiming() {}

  public static void main(String[] args) throws Exception {
    GenModel model = MojoModel.load(args[0]);
    char[] text = CsvReader.decode(Files.readAllBytes(Paths.get(args[1])), 1);
    CsvReader reader = new CsvReader(text, 0, text.length, 1);
    String[] header = reader.readHeader();
    int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    EasyPredictModelWrapper wrapper =
        new EasyPredictModelWrapper(
            new EasyPredictModelWrapper.Config()
                .setModel(model)
                .setConvertUnknownCategoricalLevelsToNa(true)
                .setConvertInvalidNumbersToNa(true));

    List<RowData> rows = new ArrayList<>();
    boolean[] all = new boolean[header.length];
    Arrays.fill(all, true);
    String[] fields = new String[header.length];
    while (reader.next(all, fields)) {
      RowData row = new RowData();
      for (int c = 0; c < fields.length; c++) {
        if (fields[c] != null) {
          row.put(header[c], fields[c]);
        }
      }
      rows.add(row);
    }

    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long best = Long.MAX_VALUE;
    long bestCpu = Long.MAX_VALUE;
    double checksum = 0;
    for (int r = 0; r < repeats; r++) {
      long start = System.nanoTime();
      long startCpu = threads.getCurrentThreadCpuTime();
      for (RowData row : rows) {
        checksum += wrapper.predict(row).hashCode() & 1;
      }
      best = Math.min(best, System.nanoTime() - start);
      bestCpu = Math.min(bestCpu, threads.getCurrentThreadCpuTime() - startCpu);
    }
    int count = Math.max(1, rows.size());
    System.out.printf(
        "rows=%d best_total_ms=%.3f ns_per_row=%.1f cpu_ns_per_row=%.1f (checksum %.0f)%n",
        rows.size(), best / 1e6, (double) best / count, (double) bestCpu / count, checksum);
  }
}
