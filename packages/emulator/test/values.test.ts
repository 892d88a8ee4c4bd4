import { describe, expect, test } from "vitest";
import { amountsIn, currencyCode, parseDate, parseNumber } from "../src/processors/values.js";

describe("parseDate", () => {
  test.each([
    ["2025-03-14", "2025-03-14"],
    ["Invoice Date: 03/20/2023", "2023-03-20"],
    ["28/11/2022", "2022-11-28"],
    ["21.05.14", "2014-05-21"],
    ["15-10-2015", "2015-10-15"],
    ["August 3 , 2014", "2014-08-03"],
    ["January 28, 2025", "2025-01-28"],
    ["7. Mai 2014", "2014-05-07"],
    ["du 02 Juillet 2015", "2015-07-02"],
    ["19 april 2014", "2014-04-19"],
    ["1er février 2023", "2023-02-01"],
    ["14 Mar 2024", "2024-03-14"],
    ["no date here", null],
    ["31/02/2024", null],
    ["ordered 18 april 2014, invoiced 2014-04-19", "2014-04-18"],
  ])("%s → %s", (text, expected) => {
    expect(parseDate(text)).toBe(expected);
  });
});

describe("parseNumber", () => {
  test.each([
    ["1,234.56", 1234.56],
    ["1.234,56", 1234.56],
    ["€ 717,97", 717.97],
    ["(12.00)", -12],
    ["-5", -5],
    ["none", null],
  ])("%s → %s", (text, expected) => {
    expect(parseNumber(text)).toBe(expected);
  });
});

describe("amountsIn", () => {
  test("finds money-looking numbers and skips numbers glued to letters", () => {
    expect(amountsIn("TOTAL AMOUNT DUE ON August 3 , 2014   $4.11")).toEqual([
      { value: 3, money: false },
      { value: 2014, money: false },
      { value: 4.11, money: true },
    ]);
    expect(amountsIn("INV2023 D-63571 total 46,68 €")).toEqual([{ value: 46.68, money: true }]);
  });
});

describe("currencyCode", () => {
  test.each([
    ["$ 279.84", "USD"],
    ["Total EUR 34,73", "EUR"],
    ["56,02 €", "EUR"],
    ["All charges and prices are in US Dollars", "USD"],
    ["Discount of Rs -40.00", "INR"],
    ["Kreissparkasse Gelnhausen", null],
    ["316,83 zł", "PLN"],
  ])("%s → %s", (text, expected) => {
    expect(currencyCode(text)).toBe(expected);
  });
});
