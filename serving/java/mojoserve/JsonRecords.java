package mojoserve;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * Reads a {@code POST /predict} body straight into rows, when it is the usual kind: a JSON array
 * of objects that each hold exactly the model's features, a number or null for a numeric
 * feature, a string or null for a categorical one.
 *
 * <p>Anything else gives {@code null}, and the Python side reads the body with its own rules and
 * error messages: another shape, a missing or extra field, a field named twice, a boolean, a
 * number for a level or text for a number, an escape sequence in a name or a level, a number
 * beyond the range of a double, bytes that are not UTF-8, more rows than allowed. Numbers read as
 * the Python side reads them: the nearest double, an integer zero without sign.
 */
final class JsonRecords {
  /** Rows read from a body: values row after row, in the model's feature order. */
  static final class Rows {
    final int count;
    /** {@code count} times the numeric features; NaN is missing. */
    final double[] numbers;
    /** {@code count} times the categorical features; null is missing. */
    final String[] levels;
    /** Pairs of row and feature index: the cells that hold a level the model never saw. */
    final int[] unknownCells;

    Rows(int count, double[] numbers, String[] levels, int[] unknownCells) {
      this.count = count;
      this.numbers = numbers;
      this.levels = levels;
      this.unknownCells = unknownCells;
    }
  }

  private static final int MAX_EXACT_DIGITS = 15;

  private final byte[][] names;
  private final boolean[] categorical;
  /** The levels of each categorical feature; null for a numeric one. */
  private final Set<String>[] domains;
  /** Position of each feature among the numeric or among the categorical ones. */
  private final int[] slot;

  private final int numericCount;
  private final int categoricalCount;

  @SuppressWarnings("unchecked")
  JsonRecords(String[] featureNames, boolean[] categorical, String[][] levels) {
    this.names = new byte[featureNames.length][];
    this.categorical = categorical.clone();
    this.domains = new Set[featureNames.length];
    for (int f = 0; f < featureNames.length; f++) {
      domains[f] = levels[f] == null ? null : new HashSet<>(Arrays.asList(levels[f]));
    }
    this.slot = new int[featureNames.length];
    int numeric = 0;
    int levelled = 0;
    for (int f = 0; f < featureNames.length; f++) {
      names[f] = featureNames[f].getBytes(StandardCharsets.UTF_8);
      slot[f] = categorical[f] ? levelled++ : numeric++;
    }
    this.numericCount = numeric;
    this.categoricalCount = levelled;
  }

  /** The level of categorical {@code feature} in {@code row} of {@code rows}. */
  String level(Rows rows, int row, int feature) {
    return rows.levels[row * categoricalCount + slot[feature]];
  }

  /** The rows of {@code body}, or null when the Python side must read it. */
  Rows read(byte[] body, int maxRows) {
    try {
      return new Reader(body).rows(maxRows);
    } catch (NotUsual exc) {
      return null;
    }
  }

  /** Thrown inside the reader when the body is not the usual kind; never escapes. */
  private static final class NotUsual extends Exception {
    private static final NotUsual INSTANCE = new NotUsual();

    private NotUsual() {
      super(null, null, false, false);
    }
  }

  private final class Reader {
    private final byte[] text;
    private int at;
    private double[] numbers = new double[Math.max(16, numericCount * 1024)];
    private String[] levels = new String[Math.max(16, categoricalCount * 1024)];
    private int[] unknownCells = new int[16];
    private int unknownCount;
    private final int[] seenInRow;

    Reader(byte[] text) {
      this.text = text;
      this.seenInRow = new int[names.length];
      Arrays.fill(seenInRow, -1);
    }

    Rows rows(int maxRows) throws NotUsual {
      skipSpace();
      expect('[');
      int row = 0;
      while (true) {
        if (row >= maxRows) {
          throw NotUsual.INSTANCE;
        }
        grow(row + 1);
        readObject(row);
        row++;
        skipSpace();
        if (peek() == ',') {
          at++;
          continue;
        }
        expect(']');
        break;
      }
      skipSpace();
      if (at != text.length) {
        throw NotUsual.INSTANCE;
      }
      return new Rows(
          row,
          Arrays.copyOf(numbers, row * numericCount),
          Arrays.copyOf(levels, row * categoricalCount),
          Arrays.copyOf(unknownCells, 2 * unknownCount));
    }

    private void readObject(int row) throws NotUsual {
      skipSpace();
      expect('{');
      int fields = 0;
      int expected = 0;
      while (true) {
        skipSpace();
        int feature = readName(expected);
        if (seenInRow[feature] == row) {
          throw NotUsual.INSTANCE;
        }
        seenInRow[feature] = row;
        fields++;
        expected = feature + 1;
        skipSpace();
        expect(':');
        skipSpace();
        if (categorical[feature]) {
          levels[row * categoricalCount + slot[feature]] = readLevel();
        } else {
          numbers[row * numericCount + slot[feature]] = readNumber();
        }
        skipSpace();
        if (peek() == ',') {
          at++;
          continue;
        }
        expect('}');
        break;
      }
      if (fields != names.length) {
        throw NotUsual.INSTANCE;
      }
      // In feature order, as the Python side lists a row's warnings.
      for (int feature = 0; feature < names.length; feature++) {
        if (categorical[feature]) {
          String level = levels[row * categoricalCount + slot[feature]];
          if (level != null && !known(feature, level)) {
            noteUnknown(row, feature);
          }
        }
      }
    }

    /** A field name that is a feature; tried first: the one after the previous field. */
    private int readName(int expected) throws NotUsual {
      expect('"');
      int start = at;
      while (at < text.length && text[at] != '"') {
        if (text[at] == '\\') {
          throw NotUsual.INSTANCE;
        }
        at++;
      }
      int end = at;
      expect('"');
      if (expected < names.length && matches(names[expected], start, end)) {
        return expected;
      }
      for (int f = 0; f < names.length; f++) {
        if (matches(names[f], start, end)) {
          return f;
        }
      }
      throw NotUsual.INSTANCE;
    }

    private boolean matches(byte[] name, int start, int end) {
      return end - start == name.length
          && Arrays.equals(text, start, end, name, 0, name.length);
    }

    private String readLevel() throws NotUsual {
      if (peek() == 'n') {
        expectWord("null");
        return null;
      }
      expect('"');
      int start = at;
      boolean ascii = true;
      while (at < text.length && text[at] != '"') {
        byte b = text[at];
        if (b == '\\' || (b >= 0 && b < 0x20)) {
          throw NotUsual.INSTANCE;
        }
        ascii &= b >= 0;
        at++;
      }
      int end = at;
      expect('"');
      if (ascii) {
        return new String(text, start, end - start, StandardCharsets.US_ASCII);
      }
      try {
        return StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(text, start, end - start))
            .toString();
      } catch (CharacterCodingException exc) {
        throw NotUsual.INSTANCE;
      }
    }

    /** A JSON number, or null as NaN. */
    private double readNumber() throws NotUsual {
      if (peek() == 'n') {
        expectWord("null");
        return Double.NaN;
      }
      int start = at;
      boolean negative = peek() == '-';
      if (negative) {
        at++;
      }
      long digits = 0;
      int count = 0;
      int decimals = 0;
      boolean plain = true;
      int firstDigit = at;
      while (at < text.length && isDigit(text[at])) {
        digits = digits * 10 + (text[at] - '0');
        count++;
        at++;
      }
      if (count == 0 || (text[firstDigit] == '0' && count > 1)) {
        throw NotUsual.INSTANCE; // not a JSON number: no digits, or a leading zero
      }
      boolean integer = true;
      if (at < text.length && text[at] == '.') {
        integer = false;
        at++;
        int fractionStart = at;
        while (at < text.length && isDigit(text[at])) {
          digits = digits * 10 + (text[at] - '0');
          count++;
          decimals++;
          at++;
        }
        if (at == fractionStart) {
          throw NotUsual.INSTANCE;
        }
      }
      if (at < text.length && (text[at] == 'e' || text[at] == 'E')) {
        integer = false;
        plain = false;
        at++;
        if (at < text.length && (text[at] == '+' || text[at] == '-')) {
          at++;
        }
        int exponentStart = at;
        while (at < text.length && isDigit(text[at])) {
          at++;
        }
        if (at == exponentStart) {
          throw NotUsual.INSTANCE;
        }
      }
      double value;
      if (plain && count <= MAX_EXACT_DIGITS) {
        value = DecimalText.exactQuotient(digits, decimals);
        value = negative ? -value : value;
      } else {
        value = Double.parseDouble(new String(text, start, at - start, StandardCharsets.US_ASCII));
      }
      if (Double.isInfinite(value)) {
        throw NotUsual.INSTANCE;
      }
      // The Python side reads -0 as the integer 0, which becomes +0.0.
      return integer && value == 0 ? 0.0 : value;
    }

    /**
     * The level, or the level without surrounding spaces, is one of the model's (as genmodel
     * and the Python side see it). Other whitespace only reaches here outside ASCII, where
     * Python's notion of it differs from Java's: the Python side decides those.
     */
    private boolean known(int feature, String level) throws NotUsual {
      Set<String> domain = domains[feature];
      if (domain.contains(level)) {
        return true;
      }
      for (int i = 0; i < level.length(); i++) {
        if (level.charAt(i) >= 0x80) {
          throw NotUsual.INSTANCE;
        }
      }
      return domain.contains(level.trim());
    }

    private void noteUnknown(int row, int feature) {
      if (2 * unknownCount + 2 > unknownCells.length) {
        unknownCells = Arrays.copyOf(unknownCells, unknownCells.length * 2);
      }
      unknownCells[2 * unknownCount] = row;
      unknownCells[2 * unknownCount + 1] = feature;
      unknownCount++;
    }

    private void grow(int rows) {
      if (rows * numericCount > numbers.length) {
        numbers = Arrays.copyOf(numbers, Math.max(numbers.length * 2, rows * numericCount));
      }
      if (rows * categoricalCount > levels.length) {
        levels = Arrays.copyOf(levels, Math.max(levels.length * 2, rows * categoricalCount));
      }
    }

    private void skipSpace() {
      while (at < text.length) {
        byte b = text[at];
        if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
          return;
        }
        at++;
      }
    }

    private int peek() {
      return at < text.length ? text[at] : -1;
    }

    private void expect(char c) throws NotUsual {
      if (peek() != c) {
        throw NotUsual.INSTANCE;
      }
      at++;
    }

    private void expectWord(String word) throws NotUsual {
      for (int i = 0; i < word.length(); i++) {
        expect(word.charAt(i));
      }
    }
  }

  private static boolean isDigit(byte b) {
    return b >= '0' && b <= '9';
  }
}
