package mojoserve;

import java.nio.charset.StandardCharsets;

/**
 * Prediction rows written as the JSON objects of {@code POST /predict}, one object per line.
 *
 * <p>A classifier's row reads {@code {"label":"1","probabilities":{"0":0.25,"1":0.75},
 * "warnings":[]}}, a regression's {@code {"value":3.5,"warnings":[]}}. Every row ends with an
 * empty warnings list and a newline: the Python side joins the lines with commas, and first
 * fills in the warnings of the few rows that have some. Writing the rows here costs a fraction
 * of building one Python dictionary per row and serializing it.
 */
final class JsonRows {
  private static final byte[] WARNINGS_AND_END = ascii("\"warnings\":[]}\n");
  private static final byte[] VALUE_FIELD = ascii("{\"value\":");
  private static final byte[] NULL = ascii("null");
  private static final byte[] PROBABILITIES_END = ascii("},");

  /** The start of a row up to its probabilities object, per class index, UTF-8. */
  private final byte[][] labelFields;
  /** {@code "<class>":} per class index, the keys of the probabilities object. */
  private final byte[][] probabilityKeys;

  /** @param labels the class labels in the model's order; null for a regression model */
  JsonRows(String[] labels) {
    if (labels == null) {
      labelFields = null;
      probabilityKeys = null;
      return;
    }
    labelFields = new byte[labels.length][];
    probabilityKeys = new byte[labels.length][];
    for (int k = 0; k < labels.length; k++) {
      String quoted = quote(labels[k]);
      labelFields[k] = utf8("{\"label\":" + quoted + ",\"probabilities\":{");
      probabilityKeys[k] = utf8(quoted + ":");
    }
  }

  /** Rows {@code from} (inclusive) to {@code to} of {@code results}, {@code width} per row. */
  byte[] write(double[] results, int width, int from, int to) {
    ByteSink out = new ByteSink((to - from) * (32 + 28 * width));
    for (int row = from; row < to; row++) {
      int base = row * width;
      if (labelFields == null) {
        out.append(VALUE_FIELD);
        appendNumber(out, results[base]);
        out.append((byte) ',');
      } else {
        out.append(labelFields[(int) results[base]]);
        for (int k = 1; k < width; k++) {
          if (k > 1) {
            out.append((byte) ',');
          }
          out.append(probabilityKeys[k - 1]);
          out.appendProbability(results[base + k]);
        }
        out.append(PROBABILITIES_END);
      }
      out.append(WARNINGS_AND_END);
    }
    return out.toByteArray();
  }

  /** A finite number as JSON; NaN and infinities, which JSON cannot hold, as null. */
  private static void appendNumber(ByteSink out, double value) {
    if (Double.isFinite(value)) {
      out.append(Double.toString(value));
    } else {
      out.append(NULL);
    }
  }

  /** A JSON string literal: quotes, backslashes and control characters escaped. */
  static String quote(String text) {
    StringBuilder out = new StringBuilder(text.length() + 2).append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
