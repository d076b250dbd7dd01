"""Official documents: who issues them and their letter numbers (``江汉检函〔2026〕1号``)."""
