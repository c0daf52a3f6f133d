package mojoserve;

/**
 * Probabilities as text, exactly rounded to 17 decimals and far faster than Java 17's {@code
 * Double.toString}, which costs about as much per row as scoring a small model.
 *
 * <p>A double {@code p = m / 2^s} times {@code 10^17} is computed exactly in 128 bits and rounded
 * half to even, so the text is within 5e-18 of {@code p}; from 0.1 up it holds 17 significant
 * digits, which read back as the same double. Trailing zeros are dropped. Values outside (0, 1),
 * or within 5e-18 of either end, are written by {@code Double.toString}.
 */
final class DecimalText {
  static final int DECIMALS = 17;
  /** "0." and 17 digits: the longest text {@link #writeProbability} writes. */
  static final int MAX_PROBABILITY_CHARS = 2 + DECIMALS;

  private static final long SCALE = 100_000_000_000_000_000L;
  private static final long MANTISSA_MASK = (1L << 52) - 1;
  private static final byte[] PAIRS = new byte[200];
  private static final int MAX_EXACT_DIGITS = 15;
  private static final double[] POWERS_OF_TEN = new double[MAX_EXACT_DIGITS + 1];

  static {
    POWERS_OF_TEN[0] = 1;
    for (int k = 1; k <= MAX_EXACT_DIGITS; k++) {
      POWERS_OF_TEN[k] = POWERS_OF_TEN[k - 1] * 10;
    }
    for (int i = 0; i < 100; i++) {
      PAIRS[2 * i] = (byte) ('0' + i / 10);
      PAIRS[2 * i + 1] = (byte) ('0' + i % 10);
    }
  }

  private DecimalText() {}

  /**
   * A plain decimal such as {@code -12.375} in {@code text[from, to)}, read exactly as {@link
   * Double#parseDouble} would,
   * about ten times faster; NaN for any other text (exponents, spaces, more than 15 digits), which
   * the caller then hands to genmodel as text.
   *
   * <p>Up to 15 digits, the digits form an exact double and so does 10^k for k up to 22; their
   * quotient is then correctly rounded, the same double the full parser finds.
   */
  static double parsePlainDecimal(char[] text, int from, int to) {
    int at = from;
    boolean negative = false;
    if (at < to && (text[at] == '-' || text[at] == '+')) {
      negative = text[at] == '-';
      at++;
    }
    long digits = 0;
    int count = 0;
    int decimals = -1;
    for (; at < to; at++) {
      char c = text[at];
      if (c >= '0' && c <= '9') {
        digits = digits * 10 + (c - '0');
        count++;
        if (decimals >= 0) {
          decimals++;
        }
      } else if (c == '.' && decimals < 0) {
        decimals = 0;
      } else {
        return Double.NaN;
      }
    }
    if (count == 0 || count > MAX_EXACT_DIGITS) {
      return Double.NaN;
    }
    double value = exactQuotient(digits, Math.max(0, decimals));
    return negative ? -value : value;
  }

  /** {@code digits / 10^decimals}, correctly rounded, for at most 15 digits in all. */
  static double exactQuotient(long digits, int decimals) {
    return decimals > 0 ? digits / POWERS_OF_TEN[decimals] : (double) digits;
  }

  /** {@code round(p * 10^17)}, exact, for 0 < p < 1; 0 when it rounds to nothing, -1 outside. */
  static long scaledProbability(double p) {
    if (!(p > 0 && p < 1)) {
      return -1;
    }
    long bits = Double.doubleToRawLongBits(p);
    int biasedExponent = (int) (bits >>> 52);
    long mantissa = bits & MANTISSA_MASK;
    int shift;
    if (biasedExponent == 0) {
      shift = 1074;
    } else {
      mantissa |= 1L << 52;
      shift = 1075 - biasedExponent;
    }
    // p = mantissa / 2^shift with shift >= 53; past 127 the product rounds to 0.
    if (shift > 127) {
      return 0;
    }
    long high = Math.multiplyHigh(mantissa, SCALE);
    long low = mantissa * SCALE;
    long quotient;
    long remainderHigh;
    long remainderLow;
    long halfHigh;
    long halfLow;
    if (shift < 64) {
      quotient = (high << (64 - shift)) | (low >>> shift);
      remainderHigh = 0;
      remainderLow = low & ((1L << shift) - 1);
      halfHigh = 0;
      halfLow = 1L << (shift - 1);
    } else if (shift == 64) {
      quotient = high;
      remainderHigh = 0;
      remainderLow = low;
      halfHigh = 0;
      halfLow = Long.MIN_VALUE;
    } else {
      int highShift = shift - 64;
      quotient = high >>> highShift;
      remainderHigh = high & ((1L << highShift) - 1);
      remainderLow = low;
      halfHigh = 1L << (highShift - 1);
      halfLow = 0;
    }
    int order =
        remainderHigh != halfHigh
            ? Long.compareUnsigned(remainderHigh, halfHigh)
            : Long.compareUnsigned(remainderLow, halfLow);
    if (order > 0 || (order == 0 && (quotient & 1) == 1)) {
      quotient++;
    }
    return quotient;
  }

  /**
   * Write {@code p} as {@code 0.<digits>} into {@code out} at {@code at}, which must have room
   * for {@link #MAX_PROBABILITY_CHARS} bytes; return the end offset, or -1 (nothing written)
   * when {@code p} needs {@code Double.toString}.
   */
  static int writeProbability(double p, byte[] out, int at) {
    long scaled = scaledProbability(p);
    if (scaled <= 0 || scaled >= SCALE) {
      return -1;
    }
    out[at] = '0';
    out[at + 1] = '.';
    int upper = (int) (scaled / 1_000_000_000L);
    int lower = (int) (scaled - upper * 1_000_000_000L);
    int digits = at + 2;
    // 8 digits from the upper part, then 9 from the lower: 17 in all.
    writePairs(upper, out, digits, 4);
    out[digits + 8] = (byte) ('0' + lower / 100_000_000);
    writePairs(lower % 100_000_000, out, digits + 9, 4);
    int end = digits + DECIMALS;
    while (out[end - 1] == '0') {
      end--;
    }
    return end;
  }

  /** {@code value} (below 10^(2 * pairs)) as {@code 2 * pairs} digits, zero padded. */
  private static void writePairs(int value, byte[] out, int at, int pairs) {
    for (int i = pairs - 1; i >= 0; i--) {
      int pair = value % 100;
      value /= 100;
      out[at + 2 * i] = PAIRS[2 * pair];
      out[at + 2 * i + 1] = PAIRS[2 * pair + 1];
    }
  }
}
