package mojoserve;

/** Numbers as text, faster than Java 17's {@code Double.toString} where that matters. */
final class DecimalText {
  private static final int PROBABILITY_DECIMALS = 17;
  private static final long PROBABILITY_SCALE = 100_000_000_000_000_000L;

  private DecimalText() {}

  /**
   * Write a probability with 17 decimals (within about 2e-16), trailing zeros dropped.
   * Java 17's {@code Double.toString} costs about as much per row as scoring a small model.
   * Values outside (0, 1), or too close to either end, fall back to {@code Double.toString}.
   */
  static void appendProbability(StringBuilder out, double p) {
    long scaled = Math.round(p * 1e17);
    if (!(p > 0 && p < 1) || scaled <= 0 || scaled >= PROBABILITY_SCALE) {
      out.append(p);
      return;
    }
    char[] digits = new char[PROBABILITY_DECIMALS];
    for (int i = PROBABILITY_DECIMALS - 1; i >= 0; i--) {
      digits[i] = (char) ('0' + scaled % 10);
      scaled /= 10;
    }
    int end = PROBABILITY_DECIMALS;
    while (digits[end - 1] == '0') {
      end--;
    }
    out.append("0.").append(digits, 0, end);
  }
}
