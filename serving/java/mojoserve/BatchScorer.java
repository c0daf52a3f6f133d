package mojoserve;

import hex.ModelCategory;
import hex.genmodel.GenModel;
import hex.genmodel.MojoModel;
import hex.genmodel.easy.EasyPredictModelWrapper;
import hex.genmodel.easy.RowData;
import hex.genmodel.easy.exception.PredictException;
import hex.genmodel.easy.prediction.AbstractPrediction;
import hex.genmodel.easy.prediction.BinomialModelPrediction;
import hex.genmodel.easy.prediction.MultinomialModelPrediction;
import hex.genmodel.easy.prediction.RegressionModelPrediction;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Scores whole batches of rows with one MOJO, so that Python crosses the py4j bridge once per
 * batch instead of once per row.
 *
 * <p>Every row goes through {@link EasyPredictModelWrapper} with unknown categorical levels and
 * invalid numbers converted to missing values: genmodel's own rules decide the mapping. Results
 * travel back as little-endian float64 bytes (base64 text), one row after the other: for classifiers the
 * predicted class index followed by one probability per class (in the model's response domain
 * order), for regression the predicted value.
 *
 * <p>Thread safety: one instance may be called from many Python threads at once (py4j serves
 * each on its own Java thread). Every Java thread gets its own wrapper; a big batch is split
 * between the calling thread and a small shared pool.
 */
public final class BatchScorer implements AutoCloseable {
  /** Below this many rows per worker, extra threads cost more than they save. */
  private static final int MIN_ROWS_PER_WORKER = 2000;
  /** The same for CSV text, where rows are not counted before they are read. */
  private static final int MIN_CHARS_PER_WORKER = 64 * 1024;

  private final GenModel model;
  private final int workers;
  private final ThreadLocal<EasyPredictModelWrapper> wrapper;
  private final ExecutorService pool;
  private final String task;
  private final String[] featureNames;
  private final boolean[] categorical;
  private final int width;
  private final JsonRows json;
  private final JsonRecords jsonRecords;
  private final int numericCount;
  private final int categoricalCount;
  /** The class labels as CSV fields (quoted where needed), UTF-8; null for regression. */
  private final byte[][] csvLabels;

  private BatchScorer(GenModel model, int workers) {
    this.model = model;
    this.task = taskOf(model.getModelCategory());
    this.workers = Math.max(1, workers);
    this.wrapper = ThreadLocal.withInitial(() -> newWrapper(model));
    this.pool = this.workers > 1 ? startedPool(this.workers - 1) : null;
    this.featureNames = inputNames(model);
    this.categorical = new boolean[featureNames.length];
    for (int i = 0; i < featureNames.length; i++) {
      categorical[i] = model.getDomainValues(featureNames[i]) != null;
    }
    this.width = task.equals("regression") ? 1 : 1 + model.getNumResponseClasses();
    this.json = new JsonRows(labels());
    String[][] levels = new String[featureNames.length][];
    int numeric = 0;
    for (int f = 0; f < featureNames.length; f++) {
      levels[f] = model.getDomainValues(featureNames[f]);
      numeric += categorical[f] ? 0 : 1;
    }
    this.numericCount = numeric;
    this.categoricalCount = featureNames.length - numeric;
    this.jsonRecords = new JsonRecords(featureNames, categorical, levels);
    this.csvLabels = csvFields(labels());
  }

  /**
   * Threads that score parts of big batches, started now: a thread inherits the CPUs its
   * creator may use, and the thread that serves the event loop's small calls may be held to
   * one CPU (see the Python module serving.affinity).
   */
  private static ThreadPoolExecutor startedPool(int threads) {
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            0L,
            TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread thread = new Thread(r, "mojoserve-scorer");
              thread.setDaemon(true);
              return thread;
            });
    pool.prestartAllCoreThreads();
    return pool;
  }

  private static EasyPredictModelWrapper newWrapper(GenModel model) {
    return new EasyPredictModelWrapper(
        new EasyPredictModelWrapper.Config()
            .setModel(model)
            .setConvertUnknownCategoricalLevelsToNa(true)
            .setConvertInvalidNumbersToNa(true));
  }

  /** Load a MOJO file; a batch uses up to {@code workers} threads (1 or 2 suit two cores). */
  public static BatchScorer load(String mojoPath, int workers) throws IOException {
    return new BatchScorer(MojoModel.load(mojoPath), workers);
  }

  private static String taskOf(ModelCategory category) {
    switch (category) {
      case Binomial:
        return "binary";
      case Multinomial:
        return "multiclass";
      case Regression:
        return "regression";
      default:
        throw new IllegalArgumentException(
            "model category " + category + " is not supported; expected a binomial, "
                + "multinomial or regression model");
    }
  }

  private static String[] inputNames(GenModel model) {
    String[] names = model.getOrigNames() != null ? model.getOrigNames() : model.getNames();
    String response = model.isSupervised() ? model.getResponseName() : null;
    String offset = model.getOffsetName();
    List<String> inputs = new ArrayList<>();
    for (String name : names) {
      if (!name.equals(response) && !name.equals(offset)) {
        inputs.add(name);
      }
    }
    return inputs.toArray(new String[0]);
  }

  /** A cheap call that proves the JVM answers. */
  public int ping() {
    return featureNames.length;
  }

  /** "binary", "multiclass" or "regression". */
  public String task() {
    return task;
  }

  /** The model's input columns, in its own order, packed (see {@link PackedStrings}). */
  public String featureNames() {
    return base64(PackedStrings.encode(featureNames));
  }

  /** The levels of input column {@code index}, packed; null for a numeric column. */
  public String featureLevels(int index) {
    String[] levels = model.getDomainValues(featureNames[index]);
    return levels == null ? null : base64(PackedStrings.encode(levels));
  }

  /** The class labels in the model's order, packed; an empty list for regression. */
  public String classLabels() {
    String[] labels = task.equals("regression") ? new String[0] : model.getDomainValues(
        model.getResponseIdx());
    return base64(PackedStrings.encode(labels));
  }

  /** Doubles per result row: 1 for regression, 1 + classes for classifiers. */
  public int resultWidth() {
    return width;
  }

  /**
   * Score {@code rows} rows given column by column.
   *
   * @param numeric float64 little endian, the numeric input columns (model order) one after the
   *     other, {@code rows} values each; NaN is missing
   * @param levels packed strings, the categorical input columns (model order) one after the
   *     other, {@code rows} values each; null is missing
   */
  public String scoreColumns(int rows, byte[] numeric, byte[] levels) throws Exception {
    return base64(scoreColumnsBytes(rows, numeric, levels));
  }

  /** {@link #scoreColumns} for big batches: inputs and result travel as files. */
  public String scoreColumnsFiles(int rows, String numeric, String levels, String outDir)
      throws Exception {
    byte[] results =
        scoreColumnsBytes(rows, FileExchange.take(numeric), FileExchange.take(levels));
    return FileExchange.put(results, outDir);
  }

  /**
   * {@link #scoreColumns} answered as the prediction objects of {@code POST /predict} (see
   * {@link JsonRows}), UTF-8, one per line, in base64 like every byte answer.
   */
  public String scoreColumnsJson(int rows, byte[] numeric, byte[] levels) throws Exception {
    return base64(scoreColumnsJsonBytes(rows, numeric, levels));
  }

  /** {@link #scoreColumnsJson} for big batches: inputs and result travel as files. */
  public String scoreColumnsJsonFiles(int rows, String numeric, String levels, String outDir)
      throws Exception {
    byte[] answer =
        scoreColumnsJsonBytes(rows, FileExchange.take(numeric), FileExchange.take(levels));
    return FileExchange.put(answer, outDir);
  }

  private byte[] scoreColumnsBytes(int rows, byte[] numeric, byte[] levels) throws Exception {
    RowSource source = columnSource(rows, numeric, levels);
    double[] results = new double[rows * width];
    inParts(rows, (part, from, to) -> scoreRange(source, from, to, results));
    return toBytes(results);
  }

  /**
   * Read a {@code POST /predict} body (a JSON array of records, as a file) and score it,
   * answered like {@link #scoreColumnsJsonFiles}, in one step: when every record holds exactly
   * the features with plain values (see {@link JsonRecords}), Python neither parses nor checks
   * the rows.
   *
   * @return an empty string when the body is not of that kind (the caller reads it then);
   *     else three lines: the answer file, the row count, and the cells holding unseen levels
   *     as a JSON array of {@code [row, feature, level]}
   */
  public String scoreJsonRecordsFile(String body, int maxRows, String outDir) throws Exception {
    JsonRecords.Rows rows = jsonRecords.read(FileExchange.take(body), maxRows);
    if (rows == null) {
      return "";
    }
    RowSource source = new ColumnSource(rows.count, rows.numbers, rows.levels, true);
    String answer = FileExchange.put(jsonRows(source, rows.count), outDir);
    StringBuilder unknown = new StringBuilder("[");
    for (int i = 0; i < rows.unknownCells.length; i += 2) {
      int row = rows.unknownCells[i];
      int feature = rows.unknownCells[i + 1];
      String level = jsonRecords.level(rows, row, feature);
      unknown.append(i > 0 ? "," : "").append('[').append(row).append(',');
      unknown.append(JsonRows.quote(featureNames[feature])).append(',');
      unknown.append(JsonRows.quote(level)).append(']');
    }
    return answer + "\n" + rows.count + "\n" + unknown.append(']');
  }

  private byte[] scoreColumnsJsonBytes(int rows, byte[] numeric, byte[] levels)
      throws Exception {
    return jsonRows(columnSource(rows, numeric, levels), rows);
  }

  private byte[] jsonRows(RowSource source, int rows) throws Exception {
    double[] results = new double[rows * width];
    byte[][] pieces = new byte[partsFor(rows)][];
    inParts(
        rows,
        (part, from, to) -> {
          scoreRange(source, from, to, results);
          pieces[part] = json.write(results, width, from, to);
        });
    return concat(new byte[0], pieces);
  }

  private RowSource columnSource(int rows, byte[] numeric, byte[] levels) {
    DoubleBuffer numbers =
        ByteBuffer.wrap(numeric).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
    String[] strings = PackedStrings.decode(levels);
    if (numbers.remaining() != (long) numericCount * rows
        || strings.length != (long) categoricalCount * rows) {
      throw new IllegalArgumentException(
          "batch of " + rows + " rows expects " + numericCount * (long) rows
              + " numbers and " + categoricalCount * (long) rows + " levels, got "
              + numbers.remaining() + " and " + strings.length);
    }
    double[] values = new double[numbers.remaining()];
    numbers.get(values);
    return new ColumnSource(rows, values, strings, false);
  }

  /**
   * Score a CSV document (header row first) and return it as CSV with the prediction columns
   * appended: {@code predict} and, for classifiers, {@code p_<label>} per class.
   *
   * @param writeHeader false to leave the header out of the output (later chunks of a stream)
   * @param firstLine the physical line number of the first byte, for error messages
   */
  public String scoreCsv(byte[] csv, boolean writeHeader, long firstLine) throws Exception {
    return base64(scoreCsvBytes(csv, writeHeader, firstLine));
  }

  /** {@link #scoreCsv} for big documents: input and output travel as files. */
  public String scoreCsvFile(String csv, boolean writeHeader, long firstLine, String outDir)
      throws Exception {
    return FileExchange.put(scoreCsvBytes(FileExchange.take(csv), writeHeader, firstLine), outDir);
  }

  private byte[] scoreCsvBytes(byte[] csv, boolean writeHeader, long firstLine)
      throws Exception {
    char[] text = CsvReader.decode(csv, firstLine);
    CsvReader headerReader = new CsvReader(text, 0, text.length, firstLine);
    String[] header = headerReader.readHeader();
    boolean[] wanted = new boolean[header.length];
    // Numbers are read from the text right away, a string made only for anything else.
    boolean[] numericColumn = new boolean[header.length];
    int[] columnOfFeature = new int[featureNames.length];
    for (int f = 0; f < featureNames.length; f++) {
      columnOfFeature[f] = -1;
      for (int c = 0; c < header.length; c++) {
        if (header[c].equals(featureNames[f])) {
          columnOfFeature[f] = c;
          wanted[c] = true;
          numericColumn[c] = !categorical[f];
        }
      }
    }
    byte[] head = writeHeader ? headerLine(text, headerReader) : new byte[0];

    // Each part parses, scores and writes its own records: the document never exists as
    // a table of strings, and formatting numbers (as costly as scoring a small model) is
    // split too.
    int bodyStart = headerReader.position();
    int parts =
        Math.min(workers, Math.max(1, (text.length - bodyStart) / MIN_CHARS_PER_WORKER));
    long[] starts = CsvReader.split(text, bodyStart, text.length, headerReader.line(), parts);
    int ranges = starts.length / 2;
    byte[][] pieces = new byte[ranges][];
    runParts(
        ranges,
        part -> {
          int from = (int) starts[2 * part];
          int to = part + 1 < ranges ? (int) starts[2 * part + 2] : text.length;
          CsvReader reader = new CsvReader(text, from, to, starts[2 * part + 1]);
          pieces[part] = scoreCsvRange(text, reader, wanted, numericColumn, columnOfFeature);
        });
    return concat(head, pieces);
  }

  private byte[] scoreCsvRange(
      char[] text,
      CsvReader reader,
      boolean[] wanted,
      boolean[] numericColumn,
      int[] columnOfFeature)
      throws PredictException {
    EasyPredictModelWrapper wrapper = this.wrapper.get();
    String[] labels = labels();
    String[] values = new String[wanted.length];
    double[] numbers = new double[wanted.length];
    RowData row = new RowData();
    double[] result = new double[width];
    ByteSink out = new ByteSink(2 * (reader.end() - reader.position()));
    while (reader.next(wanted, numericColumn, values, numbers)) {
      row.clear();
      for (int f = 0; f < featureNames.length; f++) {
        int column = columnOfFeature[f];
        if (column < 0) {
          continue;
        }
        if (!Double.isNaN(numbers[column])) {
          row.put(featureNames[f], numbers[column]);
        } else if (values[column] != null) {
          // Levels, and numbers in other forms: genmodel's own rules read them.
          row.put(featureNames[f], values[column]);
        }
      }
      try {
        store(wrapper.predict(row), result, 0);
      } catch (PredictException exc) {
        throw new PredictException("line " + reader.recordLine + ": " + exc.getMessage());
      }
      out.appendChars(text, reader.recordStart, reader.recordEnd);
      out.append((byte) ',');
      appendPrediction(out, result, 0);
      out.append((byte) '\n');
    }
    return out.toByteArray();
  }

  private static byte[][] csvFields(String[] labels) {
    if (labels == null) {
      return null;
    }
    byte[][] fields = new byte[labels.length][];
    for (int k = 0; k < labels.length; k++) {
      StringBuilder field = new StringBuilder();
      CsvReader.appendField(field, labels[k]);
      fields[k] = field.toString().getBytes(StandardCharsets.UTF_8);
    }
    return fields;
  }

  private String[] labels() {
    return task.equals("regression") ? null : model.getDomainValues(model.getResponseIdx());
  }

  private byte[] headerLine(char[] text, CsvReader headerReader) {
    StringBuilder out = new StringBuilder();
    int start = headerReader.recordStart;
    out.append(text, start, headerReader.recordEnd - start).append(",predict");
    String[] labels = labels();
    if (labels != null) {
      for (String label : labels) {
        out.append(',');
        CsvReader.appendField(out, "p_" + label);
      }
    }
    out.append('\n');
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The prediction columns of one result row: label and probabilities, or the value. */
  private void appendPrediction(ByteSink out, double[] results, int base) {
    if (csvLabels == null) {
      out.append(Double.toString(results[base]));
      return;
    }
    out.append(csvLabels[(int) results[base]]);
    for (int k = 1; k < width; k++) {
      out.append((byte) ',');
      out.appendProbability(results[base + k]);
    }
  }

  private static byte[] concat(byte[] head, byte[][] pieces) {
    int total = head.length;
    for (byte[] piece : pieces) {
      total += piece.length;
    }
    byte[] out = Arrays.copyOf(head, total);
    int offset = head.length;
    for (byte[] piece : pieces) {
      System.arraycopy(piece, 0, out, offset, piece.length);
      offset += piece.length;
    }
    return out;
  }

  /** Rows come from somewhere: packed columns or parsed CSV. */
  private interface RowSource {
    void fill(int row, RowData target);
  }

  /** Values of the numeric, then the categorical features: column by column or row by row. */
  private final class ColumnSource implements RowSource {
    private final double[] numbers;
    private final String[] strings;
    /** Index steps from one column to the next, and from one row to the next. */
    private final int columnStep;
    private final int numberRowStep;
    private final int stringRowStep;

    ColumnSource(int rows, double[] numbers, String[] strings, boolean rowByRow) {
      this.numbers = numbers;
      this.strings = strings;
      this.columnStep = rowByRow ? 1 : rows;
      this.numberRowStep = rowByRow ? numericCount : 1;
      this.stringRowStep = rowByRow ? categoricalCount : 1;
    }

    @Override
    public void fill(int row, RowData target) {
      int numericColumn = 0;
      int categoricalColumn = 0;
      for (int f = 0; f < featureNames.length; f++) {
        if (categorical[f]) {
          String value = strings[categoricalColumn++ * columnStep + row * stringRowStep];
          if (value != null) {
            target.put(featureNames[f], value);
          }
        } else {
          double value = numbers[numericColumn++ * columnStep + row * numberRowStep];
          if (!Double.isNaN(value)) {
            target.put(featureNames[f], value);
          }
        }
      }
    }
  }

  /** Work on a range of rows; {@code part} numbers the ranges from 0. */
  private interface RangeTask {
    void run(int part, int from, int to) throws Exception;
  }

  private int partsFor(int rows) {
    return Math.min(workers, Math.max(1, rows / MIN_ROWS_PER_WORKER));
  }

  /** Split rows into contiguous ranges, one per part. */
  private void inParts(int rows, RangeTask task) throws Exception {
    int parts = partsFor(rows);
    int step = (rows + parts - 1) / parts;
    runParts(parts, part -> task.run(part, part * step, Math.min(rows, (part + 1) * step)));
  }

  /** One piece of a batch. */
  private interface PartTask {
    void run(int part) throws Exception;
  }

  /** Run parts 1.. on the pool and part 0 here; rethrow the first failure in part order. */
  private void runParts(int parts, PartTask task) throws Exception {
    List<Future<?>> others = new ArrayList<>();
    for (int part = 1; part < parts; part++) {
      int index = part;
      others.add(
          pool.submit(
              () -> {
                task.run(index);
                return null;
              }));
    }
    Exception first = null;
    try {
      task.run(0);
    } catch (Exception exc) {
      first = exc;
    }
    // Wait for every part, so no worker still writes once this returns.
    for (Future<?> part : others) {
      try {
        part.get();
      } catch (ExecutionException exc) {
        if (first == null) {
          Throwable cause = exc.getCause();
          first = cause instanceof Exception ? (Exception) cause : exc;
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  private void scoreRange(RowSource source, int from, int to, double[] results)
      throws PredictException {
    EasyPredictModelWrapper wrapper = this.wrapper.get();
    RowData row = new RowData();
    for (int r = from; r < to; r++) {
      row.clear();
      source.fill(r, row);
      AbstractPrediction prediction;
      try {
        prediction = wrapper.predict(row);
      } catch (PredictException exc) {
        throw new PredictException("row " + r + ": " + exc.getMessage());
      }
      store(prediction, results, r * width);
    }
  }

  private void store(AbstractPrediction prediction, double[] results, int base) {
    if (prediction instanceof BinomialModelPrediction) {
      BinomialModelPrediction binomial = (BinomialModelPrediction) prediction;
      results[base] = binomial.labelIndex;
      System.arraycopy(binomial.classProbabilities, 0, results, base + 1, width - 1);
    } else if (prediction instanceof MultinomialModelPrediction) {
      MultinomialModelPrediction multinomial = (MultinomialModelPrediction) prediction;
      results[base] = multinomial.labelIndex;
      System.arraycopy(multinomial.classProbabilities, 0, results, base + 1, width - 1);
    } else {
      results[base] = ((RegressionModelPrediction) prediction).value;
    }
  }

  /**
   * Bytes travel back as base64 text: py4j decodes a returned byte[] in a Python loop, one
   * byte at a time (about 1 s for 8 MB), while a string crosses as is.
   */
  private static String base64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  private static byte[] toBytes(double[] values) {
    ByteBuffer buffer = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    buffer.asDoubleBuffer().put(values);
    return buffer.array();
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }
}
