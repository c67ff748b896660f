/* Placeholder until the CLI lands: keeps the build green. */
int main(void)
{
    return 0;
}
